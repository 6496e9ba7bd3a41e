/**
 * `buildProvenance`: the SLSA v1 provenance of a bundle, as an in-toto Statement v1. The subjects
 * are the bundle's content files; the build definition names the spec (path, commit, repository,
 * environment) and every input the package step resolved: the model artifact, the spec
 * repository at its commit, the holdout data, and the training data and code the spec declares,
 * each with the digest the spec gives (none is invented where the spec gives none).
 *
 * Pure: times and ids come from the input, so a retry builds the same statement.
 */
import {
  type BundleFacts,
  bundleSubjects,
  hasScheme,
  IN_TOTO_STATEMENT_TYPE,
  sortedScanners,
} from './facts.ts';
import type { DigestSet, ProvenanceStatement, ResourceDescriptor } from './provenance-schema.ts';

export const SLSA_PROVENANCE_TYPE = 'https://slsa.dev/provenance/v1';
/** What our `buildDefinition` means: the modelship package step, with the parameters below. */
export const MODELSHIP_BUILD_TYPE = 'https://modelship.dev/package/v1';
/** The builder when the worker's configuration names none. */
export const DEFAULT_BUILDER_ID = 'https://modelship.dev/worker/v1';

/** Everything `buildProvenance` states; see `BundleFacts` for the shared part. */
export interface ProvenanceInput extends BundleFacts {
  /** The holdout file validation read (`spec.validation.holdout.path`) and its sha256 as read. */
  holdout?: { path: string; sha256: string };
  /** The trusted platform that ran the step: a URI naming the worker deployment. */
  builderId?: string;
  /** The Temporal workflow execution that packaged the bundle. */
  run: { workflowId: string; runId: string };
  /** RFC 3339 times the package step started and finished. */
  startedOn: string;
  finishedOn: string;
}

/** Builds the in-toto Statement; check it with `validateProvenance` before signing. */
export function buildProvenance(input: ProvenanceInput): ProvenanceStatement {
  const { spec } = input;
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: bundleSubjects(input.bundle.files),
    predicateType: SLSA_PROVENANCE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: MODELSHIP_BUILD_TYPE,
        externalParameters: {
          specPath: spec.path,
          commit: spec.commit,
          ...(spec.repository ? { repository: spec.repository } : {}),
          environment: input.environment,
        },
        internalParameters: {
          onnxruntimeVersion: input.versions.onnxruntime,
          scanners: Object.fromEntries(sortedScanners(input.versions)),
        },
        resolvedDependencies: resolvedDependencies(input),
      },
      runDetails: {
        builder: {
          id: input.builderId ?? DEFAULT_BUILDER_ID,
          version: { modelship: input.versions.modelship },
        },
        metadata: {
          invocationId: `${input.run.workflowId}/${input.run.runId}`,
          startedOn: input.startedOn,
          finishedOn: input.finishedOn,
        },
      },
    },
  };
}

/**
 * A file of the spec repository as a URI: `git+<repository>@<commit>#<path>` when the repository
 * is known (SLSA's convention for a file at a commit), else the repository path itself.
 */
function repositoryFileUri(input: ProvenanceInput, path: string): string {
  if (hasScheme(path) || !input.spec.repository) return path;
  return `git+${input.spec.repository}@${input.spec.commit}#${path}`;
}

function resolvedDependencies(input: ProvenanceInput): ResourceDescriptor[] {
  const { spec } = input;
  const dependencies: ResourceDescriptor[] = [
    {
      name: 'model',
      uri: repositoryFileUri(input, input.artifact.source),
      digest: { sha256: input.artifact.sha256 },
    },
    {
      name: 'spec-repository',
      ...(spec.repository ? { uri: `git+${spec.repository}@${spec.commit}` } : {}),
      digest: { gitCommit: spec.commit },
    },
  ];
  if (input.holdout) {
    dependencies.push({
      name: 'holdout',
      uri: repositoryFileUri(input, input.holdout.path),
      digest: { sha256: input.holdout.sha256 },
    });
  }
  const declared = [
    ...(input.provenance?.trainingData ?? []).map((entry) => ({ name: 'training-data', entry })),
    ...(input.provenance?.trainingCode ?? []).map((entry) => ({ name: 'training-code', entry })),
  ];
  for (const { name, entry } of declared) {
    const digest: DigestSet = {
      ...(entry.sha256 ? { sha256: entry.sha256 } : {}),
      ...(entry.commit ? { gitCommit: entry.commit } : {}),
    };
    dependencies.push({
      name,
      uri: entry.uri,
      ...(Object.keys(digest).length > 0 ? { digest } : {}),
    });
  }
  return dependencies;
}
