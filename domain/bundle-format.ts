/**
 * The bundle format: the files of `<home>/bundles/<digest>/` and what `manifest.json` says.
 * `activities/package.ts` writes bundles; the data plane (`serving/bundle.ts`) and the package
 * step's own reuse check read them. Only zod, so the data plane can import it without the
 * activity code and the Temporal SDK behind it.
 *
 * Two schemas, on purpose. `BundleManifestSchema` is exactly what the writer writes today; it
 * types the writer and checks its output. `LooseBundleManifestSchema` is what a reader may rely
 * on in any manifest: bundles packaged by earlier versions (schema version 1, files without
 * sizes, reports added since) and bundles made by hand for tests and benchmarks stay readable,
 * while the fields a reader acts on (the digest, the file digests) are checked as strictly.
 */
import { z } from 'zod';
import { ReferenceProfileSchema } from './reference-profile.ts';

export const MODEL_FILE = 'model.onnx';
export const SPEC_FILE = 'spec.yaml';
export const MANIFEST_FILE = 'manifest.json';
/** The model described in CycloneDX 1.6. */
export const BOM_FILE = 'bom.cdx.json';
/** That description as a signed in-toto statement about the content files (a Sigstore bundle). */
export const BOM_SIGNATURE_FILE = 'bom.sigstore.json';
/** The SLSA v1 provenance statement. */
export const PROVENANCE_FILE = 'provenance.json';
export const PROVENANCE_SIGNATURE_FILE = 'provenance.sigstore.json';

/**
 * The model card for people (`supply-chain/evidence/model-card.ts`). Like the manifest it states
 * measurements (latency) that differ between attempts, so it is outside the bundle digest, and the
 * manifest lists its sha256 (`modelCard`); bundles packaged before it existed have none.
 */
export const MODEL_CARD_FILE = 'MODEL_CARD.md';

/** The content files: hashed into the bundle digest and listed in the manifest with their digests. */
const CONTENT_FILES = [MODEL_FILE, SPEC_FILE] as const;
/** The evidence files, written beside the manifest; provenance is absent for an uncommitted spec. */
export const EVIDENCE_FILES = [
  BOM_FILE,
  BOM_SIGNATURE_FILE,
  PROVENANCE_FILE,
  PROVENANCE_SIGNATURE_FILE,
] as const;
/** What every bundle directory holds. */
export const REQUIRED_BUNDLE_FILES: readonly string[] = [MANIFEST_FILE, ...CONTENT_FILES];
/** Everything a bundle directory may hold, sorted; anything else means it was tampered with. */
export const BUNDLE_FILES: readonly string[] = [
  ...REQUIRED_BUNDLE_FILES,
  ...EVIDENCE_FILES,
  MODEL_CARD_FILE,
].sort();

/**
 * Version 2 still: `referenceProfile`, added since, is optional and only added, so every reader
 * of a version 2 manifest (they all parse with the loose schema, which ignores members it does not
 * know) reads one with a profile as before, and a manifest without one is still a valid version 2.
 */
export const BUNDLE_MANIFEST_SCHEMA_VERSION = 2;

/**
 * A bundle pushed to an OCI registry is an artifact of this type, one layer per file (content
 * files and the manifest); its signed evidence is a second artifact of the evidence type whose
 * `subject` is the bundle, found through the registry's referrers.
 */
export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.modelship.bundle.v1';
export const EVIDENCE_ARTIFACT_TYPE = 'application/vnd.modelship.evidence.v1';
/**
 * The files of the bundle artifact, in layer order; the evidence files go to the referrer. The
 * model card, when the bundle has one, is a last layer of its own: the manifest lists its sha256,
 * so whoever pulls the bundle can check it (`modelship card --env` on another machine).
 */
export const BUNDLE_ARTIFACT_FILES: readonly string[] = [...REQUIRED_BUNDLE_FILES].sort();

/**
 * The version name of a bundle on the data plane: its digest's first 12 hex characters. The
 * digest covers model bytes, spec text and commit, so one name always means the same bytes.
 */
export function versionForBundle(bundleDigest: string): string {
  return bundleDigest.slice(0, 12);
}

/**
 * The tag a bundle is pushed under as well as its digest: `<environment>-<version>`, so that the
 * data plane's version name of a bundle (`versionForBundle`) finds its artifact, and a person
 * browsing the registry sees which environment and version each is.
 */
export function versionTag(environment: string, version: string): string {
  return `${environment}-${version}`;
}

/** The repository a model's bundles are pushed to in its environment's registry. */
export function bundleRepository(model: string): string {
  return `modelship/${model}`;
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256: 64 lowercase hex digits');

/** A file name inside the bundle directory: readers join it to the directory, so no `/` and no `..`. */
const fileName = z
  .string()
  .min(1, 'must be a file name')
  .refine((name) => !/[/\\]/.test(name) && name !== '.' && name !== '..', {
    message: 'must be a file name inside the bundle, without directories',
  });

const BundleFileSchema = z.strictObject({
  path: fileName.describe('Name of the file in the bundle directory.'),
  sha256: sha256.describe('sha256 of its bytes.'),
  sizeBytes: z.number().int().nonnegative().describe('Its size in bytes.'),
});
/** A content file of a bundle. */
export type BundleFile = z.output<typeof BundleFileSchema>;

const EvidenceRecordSchema = z.strictObject({
  files: z.array(z.enum(EVIDENCE_FILES)).describe('The evidence files written beside the manifest.'),
  provenanceOmitted: z
    .string()
    .optional()
    .describe(
      'Why there is no provenance, when there is none (a spec deployed from a modified working tree).',
    ),
  signedBy: z
    .string()
    .describe('Key id of the evidence key (sha256 of its public key PEM, as model signing names keys).'),
  cyclonedx: z.literal('1.6'),
  slsa: z.literal('https://slsa.dev/provenance/v1'),
});
/** The manifest's account of the evidence files. */
export type EvidenceRecord = z.output<typeof EvidenceRecordSchema>;

/**
 * A report embedded in the manifest. Its shape belongs to the activity that made it (validate,
 * scan, supply-chain), which this folder does not import: the schema checks that it is an object,
 * the writer's own types check the rest.
 */
const report = (what: string) =>
  z
    .custom<object>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), {
      message: 'must be an object',
    })
    .describe(what);

const BundleManifestSchema = z
  .strictObject({
    schemaVersion: z.literal(BUNDLE_MANIFEST_SCHEMA_VERSION),
    digest: sha256.describe('The bundle digest, also the directory name (see `bundleDigest`).'),
    model: z.string().min(1).describe('`metadata.name` of the spec.'),
    environment: z.string().min(1).describe('`spec.rollout.environment` of the spec.'),
    spec: z.strictObject({
      commit: z.string().min(1).describe('Git commit the spec was read at.'),
      path: z.string().min(1).describe('Path of the spec file in the repository.'),
    }),
    artifact: z.strictObject({
      source: z.string().min(1).describe('`model.source` of the spec.'),
      sha256,
      sizeBytes: z.number().int().nonnegative(),
    }),
    files: z.array(BundleFileSchema).describe('The content files, sorted by path.'),
    validation: report('ValidationReport (`activities/validate.ts`).'),
    scan: report('ScanReport (`model/scan.ts`).'),
    supplyChain: report('SupplyChainReport; null in bundles of runs from before the gate.').nullable(),
    policy: report('PolicyReport; null in bundles of runs from before the gate.').nullable(),
    onnxruntimeVersion: z.string().min(1),
    scanners: z
      .record(z.string(), z.string())
      .describe('Rule-set versions of the scanners that judged the model.'),
    evidence: EvidenceRecordSchema,
    modelCard: BundleFileSchema.optional().describe(
      `${MODEL_CARD_FILE}, written before the manifest; absent in bundles of runs from before model cards.`,
    ),
    referenceProfile: ReferenceProfileSchema.optional().describe(
      'The holdout profiled for drift monitoring (`domain/reference-profile.ts`); absent in bundles of runs from before profiles, whose validation report has none.',
    ),
    createdAt: z.iso.datetime(),
  })
  .superRefine((manifest, context) => {
    const paths = manifest.files.map((file) => file.path);
    if (paths.join('\n') !== [...CONTENT_FILES].sort().join('\n')) {
      context.addIssue({
        code: 'custom',
        path: ['files'],
        message: `must list exactly ${[...CONTENT_FILES].sort().join(', ')}, sorted; lists [${paths.join(', ')}]`,
      });
    }
    const model = manifest.files.find((file) => file.path === MODEL_FILE);
    if (model && model.sha256 !== manifest.artifact.sha256) {
      context.addIssue({
        code: 'custom',
        path: ['files', paths.indexOf(MODEL_FILE), 'sha256'],
        message: `must equal artifact.sha256 (${manifest.artifact.sha256})`,
      });
    }
  });
/** What `manifest.json` holds, as the package step writes it. */
export type BundleManifest = z.output<typeof BundleManifestSchema>;

/** The part of any manifest a reader acts on; see the module comment for why it is loose. */
const LooseBundleManifestSchema = z.object({
  digest: z.string().min(1, 'must be a non-empty string'),
  files: z
    .array(z.object({ path: BundleFileSchema.shape.path, sha256: BundleFileSchema.shape.sha256 }))
    .optional(),
  /** Parsed by its own schema (`domain/reference-profile.ts`) where it is used; absent in older bundles. */
  referenceProfile: z.unknown().optional(),
});
export type LooseBundleManifest = z.output<typeof LooseBundleManifestSchema>;

/** A parsed manifest, or every problem as `dot.path: message`. */
type ManifestParse<T> = { ok: true; manifest: T } | { ok: false; errors: string[] };

/** Parses a manifest (JSON already decoded) as the package step writes it. */
export function parseBundleManifest(json: unknown): ManifestParse<BundleManifest> {
  return parseWith(BundleManifestSchema, json);
}

/** Parses what any manifest, old or hand-made, must hold for a reader: the digest and the file digests. */
export function parseLooseBundleManifest(json: unknown): ManifestParse<LooseBundleManifest> {
  return parseWith(LooseBundleManifestSchema, json);
}

function parseWith<T>(schema: z.ZodType<T>, json: unknown): ManifestParse<T> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, manifest: parsed.data };
  return {
    ok: false,
    errors: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
  };
}
