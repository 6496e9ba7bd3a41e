/**
 * The SLSA v1 provenance statement modelship emits, as a zod schema: the in-toto Statement v1
 * envelope fields and the predicate fields we fill, strict about what is required and about
 * digest formats. Stricter than the SLSA spec on purpose (no unknown fields, UTC timestamps,
 * only the digest algorithms we write): it checks our own output before it is signed, and a
 * statement that drifted from this shape should fail loudly rather than be signed.
 */
import { z } from 'zod';

const sha256 = z.string().regex(/^[a-f0-9]{64}$/, 'must be a sha256 digest: 64 lowercase hex characters');
const gitCommit = z
  .string()
  .regex(/^[a-f0-9]{40}([a-f0-9]{24})?$/, 'must be a full git commit id: 40 or 64 lowercase hex characters');
const nonEmpty = z.string().min(1, 'must not be empty');
/** A schema-level message replaces zod's for every issue, a missing value's included: keep that one apart. */
const unlessMissing = (message: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? MISSING : message;
const MISSING = 'missing required field';
const uri = z.url({ error: unlessMissing('must be an absolute URI') });
/** RFC 3339 in UTC, as in-toto's Timestamp field type asks. */
const timestamp = z.iso.datetime({
  error: unlessMissing('must be an RFC 3339 timestamp in UTC, e.g. 2025-01-31T12:00:00Z'),
});

const DigestSetSchema = z
  .strictObject({
    sha256: sha256.optional(),
    gitCommit: gitCommit.optional(),
  })
  .refine((digest) => digest.sha256 !== undefined || digest.gitCommit !== undefined, {
    message: 'must hold at least one digest (sha256 or gitCommit)',
  });

const ResourceDescriptorSchema = z
  .strictObject({
    name: nonEmpty.optional(),
    uri: nonEmpty.optional(),
    digest: DigestSetSchema.optional(),
  })
  .refine((resource) => resource.uri !== undefined || resource.digest !== undefined, {
    message: 'a resource needs a uri or a digest',
  });

const SubjectSchema = z.strictObject({
  name: nonEmpty,
  digest: z.strictObject({ sha256 }),
});

const BuildDefinitionSchema = z.strictObject({
  buildType: uri,
  externalParameters: z.strictObject({
    specPath: nonEmpty,
    commit: gitCommit,
    repository: nonEmpty.optional(),
    environment: nonEmpty,
  }),
  internalParameters: z.strictObject({
    onnxruntimeVersion: nonEmpty,
    scanners: z.record(z.string(), nonEmpty),
  }),
  resolvedDependencies: z.array(ResourceDescriptorSchema),
});

const RunDetailsSchema = z.strictObject({
  builder: z.strictObject({
    id: uri,
    version: z.record(z.string(), nonEmpty).optional(),
  }),
  metadata: z
    .strictObject({
      invocationId: nonEmpty,
      startedOn: timestamp,
      finishedOn: timestamp,
    })
    .refine((metadata) => Date.parse(metadata.finishedOn) >= Date.parse(metadata.startedOn), {
      message: 'finishedOn is before startedOn',
      path: ['finishedOn'],
      // Only two real times can be compared; a malformed one is reported on its own.
      when: ({ issues }) => issues.length === 0,
    }),
});

/** An in-toto Statement v1 carrying a SLSA v1 provenance predicate, as modelship writes it. */
export const ProvenanceStatementSchema = z
  .strictObject({
    _type: z.literal('https://in-toto.io/Statement/v1'),
    subject: z.array(SubjectSchema).min(1, 'names no artifact: a statement needs at least one subject'),
    predicateType: z.literal('https://slsa.dev/provenance/v1'),
    predicate: z.strictObject({
      buildDefinition: BuildDefinitionSchema,
      runDetails: RunDetailsSchema,
    }),
  })
  .superRefine(
    (statement, ctx) => {
      // The digests that make the statement worth signing must be there, and agree with the parameters.
      const { externalParameters, resolvedDependencies } = statement.predicate.buildDefinition;
      const at = ['predicate', 'buildDefinition', 'resolvedDependencies'];
      if (!resolvedDependencies.some((dep) => dep.name === 'model' && dep.digest?.sha256 !== undefined)) {
        ctx.addIssue({ code: 'custom', path: at, message: 'lists no "model" with a sha256 digest' });
      }
      const spec = resolvedDependencies.find((dep) => dep.name === 'spec-repository');
      if (spec?.digest?.gitCommit !== externalParameters.commit) {
        ctx.addIssue({
          code: 'custom',
          path: at,
          message: `lists no "spec-repository" with gitCommit ${externalParameters.commit} (the commit in externalParameters)`,
        });
      }
      const names = statement.subject.map((subject) => subject.name);
      const repeated = names.filter((name, index) => names.indexOf(name) !== index);
      if (repeated.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['subject'], message: `names ${repeated.join(', ')} twice` });
      }
    },
    // A malformed digest is already reported where it is; "lists no model" on top would say it twice.
    { when: ({ issues }) => issues.length === 0 },
  );

export type ProvenanceStatement = z.output<typeof ProvenanceStatementSchema>;
export type ResourceDescriptor = z.output<typeof ResourceDescriptorSchema>;
export type DigestSet = z.output<typeof DigestSetSchema>;

/**
 * Problems with a provenance statement, one `dot.path: message` line each (empty when it is
 * well formed); used before signing and by tests.
 */
export function validateProvenance(statement: unknown): string[] {
  const result = ProvenanceStatementSchema.safeParse(statement, {
    error: (issue) => (issue.input === undefined ? MISSING : undefined),
  });
  if (result.success) return [];
  return result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
}
