/**
 * The OpenSSF Model Signing v1.0 statement: an in-toto Statement v1 whose single subject is the
 * model (directory name + root digest) and whose predicate lists every file.
 *
 * Matched against `model_signing` 1.1 (`_signing/signing.py`, `manifest.py`):
 * - predicateType `https://model_signing/signature/v1.0`;
 * - `predicate.serialization` = { method: "files", hash_type: "sha256", allow_symlinks: false,
 *   ignore_paths: [...] } (ignore_paths present only when not empty);
 * - `predicate.resources` = [{ name, algorithm: "sha256", digest }] in `compareModelPaths` order;
 * - `subject[0].digest.sha256` = SHA-256 over the resources' raw digests in the listed order.
 */
import { z } from 'zod';
import {
  compareModelPaths,
  type ModelFileDigest,
  rootDigestOf,
  unsafeModelPathReason,
} from './model-digest.ts';
import { formatIssue, IN_TOTO_STATEMENT_TYPE, type InTotoStatement } from './statement.ts';

export const MODEL_SIGNATURE_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
/** The pre-1.0 predicate `model_signing` 0.2 wrote; named in the refusal so people know why. */
const LEGACY_PREDICATE_TYPE = 'https://model_signing/Digests/v0.1';

const hexSha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters');

const modelSignaturePredicateSchema = z.looseObject({
  serialization: z.looseObject({
    method: z.literal('files', {
      error: (issue) =>
        issue.input === 'shards'
          ? 'shard serialization is not supported; sign with method "files"'
          : 'must be "files"',
    }),
    hash_type: z.literal('sha256', { error: 'only sha256 is supported' }),
    allow_symlinks: z.boolean(),
    ignore_paths: z.array(z.string()).optional(),
  }),
  resources: z
    .array(
      z.looseObject({
        name: z.string().superRefine((name, ctx) => {
          const reason = unsafeModelPathReason(name);
          if (reason) ctx.addIssue({ code: 'custom', message: `"${name}": ${reason}` });
        }),
        algorithm: z.literal('sha256', { error: 'only sha256 is supported' }),
        digest: hexSha256,
      }),
    )
    .min(1, 'lists no files'),
});

/** What a model signature says the directory holds. */
export interface SignedModelManifest {
  modelName: string;
  rootDigest: string;
  files: { path: string; sha256: string }[];
  /** Paths the signer left out (`model_signing` adds git files; modelship its `*.sig` files). */
  ignorePaths: string[];
}

/** Builds the statement for a model directory's digests. */
export function buildModelSignatureStatement(input: {
  modelName: string;
  files: readonly ModelFileDigest[];
  ignorePaths: readonly string[];
}): InTotoStatement {
  const files = [...input.files].sort((a, b) => compareModelPaths(a.path, b.path));
  const serialization: Record<string, unknown> = {
    method: 'files',
    hash_type: 'sha256',
    allow_symlinks: false,
  };
  if (input.ignorePaths.length > 0) serialization.ignore_paths = [...input.ignorePaths];
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name: input.modelName, digest: { sha256: rootDigestOf(files.map((f) => f.sha256)) } }],
    predicateType: MODEL_SIGNATURE_PREDICATE_TYPE,
    predicate: {
      serialization,
      resources: files.map((f) => ({ name: f.path, algorithm: 'sha256', digest: f.sha256 })),
    },
  };
}

/** Reads the manifest out of a verified statement, checking it is a consistent v1.0 one. */
export function parseModelSignatureStatement(
  statement: InTotoStatement,
): { ok: true; manifest: SignedModelManifest } | { ok: false; errors: string[] } {
  if (statement.predicateType !== MODEL_SIGNATURE_PREDICATE_TYPE) {
    const legacy =
      statement.predicateType === LEGACY_PREDICATE_TYPE ? ' (model_signing 0.2 format; re-sign)' : '';
    return {
      ok: false,
      errors: [
        `predicateType is "${statement.predicateType}"${legacy}, expected "${MODEL_SIGNATURE_PREDICATE_TYPE}"`,
      ],
    };
  }
  const subject = statement.subject[0];
  const rootDigest = hexSha256.safeParse(subject?.digest.sha256);
  if (statement.subject.length !== 1 || !subject || !rootDigest.success) {
    return { ok: false, errors: ['subject: must be exactly one model with a sha256 root digest'] };
  }
  const predicate = modelSignaturePredicateSchema.safeParse(statement.predicate);
  if (!predicate.success) {
    return { ok: false, errors: predicate.error.issues.map((issue) => `predicate.${formatIssue(issue)}`) };
  }
  const files = predicate.data.resources.map((r) => ({ path: r.name, sha256: r.digest }));
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path))
      return { ok: false, errors: [`predicate.resources: "${file.path}" is listed twice`] };
    seen.add(file.path);
  }
  // model_signing recomputes the subject from the resources in the listed order; a subject
  // that does not match means the statement was assembled inconsistently, so trust neither.
  const recomputed = rootDigestOf(files.map((f) => f.sha256));
  if (recomputed !== rootDigest.data) {
    return {
      ok: false,
      errors: [
        `subject digest ${rootDigest.data.slice(0, 12)}… does not match its resources (they hash to ${recomputed.slice(0, 12)}…)`,
      ],
    };
  }
  return {
    ok: true,
    manifest: {
      modelName: subject.name ?? '',
      rootDigest: rootDigest.data,
      files,
      ignorePaths: predicate.data.serialization.ignore_paths ?? [],
    },
  };
}
