/**
 * `oci://` model sources against a real registry (Debian's distribution registry, HTTP Basic
 * auth on): the reference pins the artifact's manifest, the spec's sha256 pins the model bytes,
 * and each way a registry or a reference can be wrong ends as the failure a person can act on.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createArtifactActivities } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import { pushArtifact } from '../../oci/artifact.ts';
import { OciError } from '../../oci/errors.ts';
import { openOciStore } from '../../oci/open.ts';
import { repoPath } from '../support/paths.ts';
import { startRegistry, type TestRegistry } from '../support/registry.ts';
import { deploymentRef, directoryTrees, expectDomainFailure, tempDir, version } from './support.ts';

const MODEL_TYPE = 'application/vnd.example.onnx-model.v1';

let registry: TestRegistry;
let home: Awaited<ReturnType<typeof tempDir>>;
let single: string;
let pair: string;
let untitled: string;
const model = version('iris', 'v1');

function resolveWith(source: string, options: { credentials?: boolean; sha256?: string } = {}) {
  const credentials = { username: registry.username, password: registry.password };
  const { resolveArtifact } = createArtifactActivities({
    home: home.path,
    trees: directoryTrees(),
    ...(options.credentials === false
      ? {}
      : { registryCredentials: (host: string) => (host === registry.host ? credentials : undefined) }),
  });
  return resolveArtifact({ deployment: deploymentRef(), source, sha256: options.sha256 ?? model.sha256 });
}

beforeAll(async () => {
  registry = await startRegistry();
  const store = openOciStore({
    kind: 'registry',
    url: registry.url,
    credentials: { username: registry.username, password: registry.password },
  });
  const modelFile = repoPath(model.path);
  const push = (files: { path: string; name: string }[]) =>
    pushArtifact(store, { repository: 'ml/iris', artifactType: MODEL_TYPE, files }).then((d) => d.digest);
  single = await push([{ path: modelFile, name: 'weights.onnx' }]);
  pair = await push([
    { path: repoPath('models/iris/holdout.csv'), name: 'holdout.csv' },
    { path: modelFile, name: 'model.onnx' },
  ]);
  untitled = await push([
    { path: repoPath('models/iris/holdout.csv'), name: 'holdout.csv' },
    { path: modelFile, name: 'iris.onnx' },
  ]);
});
afterAll(async () => {
  await registry?.close();
});
beforeEach(async () => {
  home = await tempDir('artifact-oci');
});
afterEach(async () => {
  await home.remove();
});

describe('oci:// model sources', () => {
  it('stores the only layer of the pinned artifact, verified against the spec digest', async () => {
    const source = `oci://${registry.host}/ml/iris@${single}`;
    const artifact = await resolveWith(source);
    expect(artifact).toMatchObject({
      sha256: model.sha256,
      source,
      path: join(home.path, 'artifacts', 'sha256', model.sha256),
    });
    expect(await readFile(artifact.path)).toEqual(await readFile(repoPath(model.path)));
  });

  it('takes the layer titled model.onnx from an artifact of several files', async () => {
    const artifact = await resolveWith(`oci://${registry.host}/ml/iris@${pair}`);
    expect(artifact.sha256).toBe(model.sha256);
  });

  it('refuses an artifact of several files none of which is model.onnx, listing them', async () => {
    const failure = await expectDomainFailure(
      resolveWith(`oci://${registry.host}/ml/iris@${untitled}`),
      FailureType.UnsupportedSource,
    );
    expect(failure.message).toContain('none titled model.onnx: holdout.csv, iris.onnx');
  });

  it('refuses bytes other than the spec pins, whatever the registry says', async () => {
    const failure = await expectDomainFailure(
      resolveWith(`oci://${registry.host}/ml/iris@${single}`, { sha256: 'f'.repeat(64) }),
      FailureType.DigestMismatch,
    );
    expect(failure.message).toContain(`the bytes have sha256 ${model.sha256}`);
  });

  it('reports an artifact the registry does not have as not found', async () => {
    await expectDomainFailure(
      resolveWith(`oci://${registry.host}/ml/iris@sha256:${'0'.repeat(64)}`),
      FailureType.ArtifactNotFound,
    );
  });

  it('refuses a reference by tag before asking the registry', async () => {
    const failure = await expectDomainFailure(
      resolveWith(`oci://${registry.host}/ml/iris:v1`),
      FailureType.UnsupportedSource,
    );
    expect(failure.message).toContain('oci://');
  });

  it('leaves a refused login to the retry policy (a credential being rotated)', async () => {
    const error = await resolveWith(`oci://${registry.host}/ml/iris@${single}`, { credentials: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OciError);
    expect((error as OciError).kind).toBe('unauthorized');
  });
});
