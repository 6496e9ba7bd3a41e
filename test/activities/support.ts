/** Shared helpers for activity tests: the committed model catalog, temp homes, failure assertions. */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { expect } from 'vitest';
import { createArtifactStore } from '../../activities/artifact.ts';
import type { FailureType } from '../../activities/failures.ts';
import type { SourceTrees } from '../../activities/source-tree.ts';
import { type DeploymentRef, repositoryOf } from '../../domain/deployment.ts';
import type { TensorSpec } from '../../specs/schema.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The parts of `models/catalog.json` the tests rely on. */
export interface CatalogVersion {
  version: string;
  path: string;
  sha256: string;
  size_bytes: number;
  holdout_accuracy: number;
}
export interface CatalogDataset {
  name: 'iris' | 'breast-cancer';
  features: string[];
  classes: string[];
  holdout: { path: string; rows: number };
  versions: CatalogVersion[];
}

/** Read at call time: `models/train.py` may have rewritten the models since the test file loaded. */
export function catalog(): CatalogDataset[] {
  const text = readFileSync(join(REPO_ROOT, 'models/catalog.json'), 'utf8');
  return (JSON.parse(text) as { datasets: CatalogDataset[] }).datasets;
}

export function dataset(name: CatalogDataset['name']): CatalogDataset {
  const found = catalog().find((d) => d.name === name);
  if (!found) throw new Error(`dataset ${name} missing from models/catalog.json`);
  return found;
}

export function version(name: CatalogDataset['name'], versionName: string): CatalogVersion {
  const found = dataset(name).versions.find((v) => v.version === versionName);
  if (!found) throw new Error(`${name}/${versionName} missing from models/catalog.json`);
  return found;
}

/** The interface every example model of a dataset is meant to have (as `specs/` would declare it). */
export function exampleInterface(name: CatalogDataset['name']): {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
} {
  const d = dataset(name);
  return {
    inputs: [{ name: 'input', dtype: 'float32', shape: [-1, d.features.length] }],
    outputs: [
      { name: 'label', dtype: 'int64', shape: [-1] },
      { name: 'probabilities', dtype: 'float32', shape: [-1, d.classes.length] },
    ],
  };
}

/** A deployment whose "repository" is a plain directory, read through {@link directoryTrees}. */
export function deploymentRef(directory = REPO_ROOT): DeploymentRef {
  return {
    model: 'iris-classifier',
    environment: 'staging',
    commit: '0123456789abcdef0123456789abcdef01234567',
    specPath: 'specs/iris.yaml',
    repository: directory,
  };
}

/**
 * Source trees for tests of what activities do with a commit's files: a deployment's tree is the
 * directory its `repository` names, read as it is (nothing is fetched, the commit is not looked
 * at). Fetching commits is `sources/git`'s, tested in test/sources and by the workflow tests.
 */
export function directoryTrees(): SourceTrees {
  return { treeOf: async (deployment) => repositoryOf(deployment) };
}

/** The trees and the artifact store a worker with this home would give its activities, over {@link directoryTrees}. */
export function testSources(home: string, options: { fetch?: typeof fetch } = {}) {
  const trees = directoryTrees();
  return { trees, artifacts: createArtifactStore({ home, trees, ...options }) };
}

/** A fresh temporary directory and its removal, for `beforeEach`/`afterEach`. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `modelship-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Awaits a promise that must reject with one of our domain failures: a non-retryable
 * ApplicationFailure of `type`. Returns it for assertions on message and details.
 */
export async function expectDomainFailure(
  promise: Promise<unknown>,
  type: FailureType,
): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a ${type} failure, but the call succeeded`).toBeInstanceOf(ApplicationFailure);
  const failure = error as ApplicationFailure;
  expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({ type, nonRetryable: true });
  return failure;
}

/** The one details value a domain failure carries (a report, a mismatch list). */
export function detailsOf<T>(failure: ApplicationFailure): T {
  const [details] = failure.details ?? [];
  expect(details, 'the failure carries no details').toBeDefined();
  return details as T;
}
