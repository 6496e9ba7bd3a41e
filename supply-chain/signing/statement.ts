/**
 * in-toto Statement v1: the payload every modelship signature carries inside its DSSE envelope
 * (model signatures, and the CycloneDX and SLSA attestations other code signs).
 */
import { z } from 'zod';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

const resourceDescriptor = z.looseObject({
  name: z.string().optional().describe('Name of the subject, e.g. the model directory.'),
  digest: z
    .record(z.string(), z.string())
    .describe('Algorithm → lower-case hex digest, e.g. { sha256: "…" }.'),
});

/**
 * The parts of an in-toto Statement v1 we rely on; unknown fields are kept (the spec lets
 * producers add them) and the predicate is left to each predicate type's own schema.
 */
export const inTotoStatementSchema = z.looseObject({
  _type: z.literal(IN_TOTO_STATEMENT_TYPE).describe('Statement version.'),
  subject: z.array(resourceDescriptor).min(1).describe('What the statement is about.'),
  predicateType: z.string().min(1).describe('URI naming the predicate schema.'),
  predicate: z.unknown().optional().describe('The claim, shaped by predicateType.'),
});

export type InTotoStatement = z.output<typeof inTotoStatementSchema>;

/** Parses a statement or returns `path: message` problems, one per issue. */
export function parseInTotoStatement(
  value: unknown,
): { ok: true; statement: InTotoStatement } | { ok: false; errors: string[] } {
  const parsed = inTotoStatementSchema.safeParse(value);
  if (parsed.success) return { ok: true, statement: parsed.data };
  return { ok: false, errors: parsed.error.issues.map(formatIssue) };
}

/** `subject.0.digest: expected record` — the dotted path first, as elsewhere in modelship. */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}
