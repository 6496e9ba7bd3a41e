/**
 * The facts about one packaged bundle that both evidence documents (the CycloneDX model BOM and
 * the SLSA provenance) state. Plain data, so the package step can pass what it already holds and
 * a workflow can carry it between activities.
 */
import type { BundleFile } from '../../domain/bundle-format.ts';
import type { ProvenanceSpec } from '../../specs/schema.ts';

/** The `_type` of every in-toto Statement v1. */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** Where the spec that asked for this bundle lives. */
export interface SpecSource {
  /** Path of the spec file relative to the repository root. */
  path: string;
  /** Full git commit id the spec was read at. */
  commit: string;
  /** Clone URL of the spec repository (e.g. `https://git.example.com/ml/models`), when known. */
  repository?: string;
}

/** Versions of the software that made and checked the bundle. */
export interface ToolVersions {
  modelship: string;
  /** onnxruntime-node, which validated the model. */
  onnxruntime: string;
  /** Scanner name → version, e.g. `{ "modelship-onnx-scan": "0.1.0", secretlint: "12.0.0" }`. */
  scanners?: Readonly<Record<string, string>>;
}

/** What both evidence documents describe. */
export interface BundleFacts {
  /** `metadata.name` of the spec. */
  model: string;
  /** `spec.rollout.environment`. */
  environment: string;
  spec: SpecSource;
  bundle: {
    /** The bundle digest (also its directory name). */
    digest: string;
    /** Its content files (`model.onnx`, `spec.yaml`), as `packageModel` lists them. */
    files: readonly BundleFile[];
  };
  /** The model artifact as the spec names it (`spec.model.source`) and its verified sha256. */
  artifact: { source: string; sha256: string };
  /** `spec.provenance`, when the spec declares how the model was made. */
  provenance?: ProvenanceSpec;
  versions: ToolVersions;
}

/** Scanner versions in name order, so documents built from equal facts are byte-identical. */
export function sortedScanners(versions: ToolVersions): [string, string][] {
  return Object.entries(versions.scanners ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The bundle's content files as in-toto subjects (`name` + `digest.sha256`), in path order: what
 * both signed statements are about.
 */
export function bundleSubjects(files: readonly BundleFile[]): { name: string; digest: { sha256: string } }[] {
  return [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((file) => ({ name: file.path, digest: { sha256: file.sha256 } }));
}

/** `https://…`, `file://…`, `git+ssh://…`: a source that names its own scheme (not a repository path). */
export function hasScheme(source: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(source);
}
