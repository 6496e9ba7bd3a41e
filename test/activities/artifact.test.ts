import { createHash } from 'node:crypto';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createArtifactActivities } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import {
  deploymentRef,
  detailsOf,
  directoryTrees,
  expectDomainFailure,
  REPO_ROOT,
  tempDir,
  version,
} from './support.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('resolveArtifact', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => {
    home = await tempDir('artifact');
  });
  afterEach(async () => {
    await home.remove();
  });

  it('stores a committed model content-addressed and read-only', async () => {
    const model = version('iris', 'v1');
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const artifact = await resolveArtifact({
      deployment: deploymentRef(),
      source: model.path,
      sha256: model.sha256,
    });

    expect(artifact).toEqual({
      sha256: model.sha256,
      path: join(home.path, 'artifacts', 'sha256', model.sha256),
      sizeBytes: model.size_bytes,
      source: model.path,
    });
    expect(await readFile(artifact.path)).toEqual(await readFile(join(REPO_ROOT, model.path)));
    expect((await stat(artifact.path)).mode & 0o777).toBe(0o444);
    // Nothing half-written is left behind.
    expect(await readdir(join(home.path, 'artifacts', 'sha256'))).toEqual([model.sha256]);
  });

  it('reuses an intact store entry on a second call', async () => {
    const model = version('iris', 'v2');
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const input = { deployment: deploymentRef(), source: model.path, sha256: model.sha256 };
    const first = await resolveArtifact(input);
    const before = await stat(first.path);
    const second = await resolveArtifact(input);
    expect(second).toEqual(first);
    expect((await stat(second.path)).ino).toBe(before.ino);
  });

  it('replaces a damaged store entry with verified bytes', async () => {
    const model = version('iris', 'v1');
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const input = { deployment: deploymentRef(), source: model.path, sha256: model.sha256 };
    const { path } = await resolveArtifact(input);
    await chmod(path, 0o644);
    await writeFile(path, 'not the model');
    await resolveArtifact(input);
    expect(sha256(await readFile(path))).toBe(model.sha256);
  });

  it('names both digests and the source on a mismatch, and stores nothing', async () => {
    const model = version('iris', 'v1');
    const pinned = version('iris', 'v2').sha256;
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const failure = await expectDomainFailure(
      resolveArtifact({ deployment: deploymentRef(), source: model.path, sha256: pinned }),
      FailureType.DigestMismatch,
    );
    expect(failure.message).toContain(pinned);
    expect(failure.message).toContain(model.sha256);
    expect(failure.message).toContain(model.path);
    expect(detailsOf(failure)).toMatchObject({
      expected: pinned,
      actual: model.sha256,
      source: model.path,
    });
    expect(await readdir(join(home.path, 'artifacts', 'sha256'))).toEqual([]);
  });

  it('reports a missing file with its resolved path', async () => {
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const source = 'models/iris/v9/model.onnx';
    const failure = await expectDomainFailure(
      resolveArtifact({ deployment: deploymentRef(), source, sha256: 'a'.repeat(64) }),
      FailureType.ArtifactNotFound,
    );
    expect(failure.message).toContain(join(REPO_ROOT, source));
  });

  it('refuses sources that leave the repository or use another scheme', async () => {
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const resolveFrom = (source: string) =>
      resolveArtifact({ deployment: deploymentRef(), source, sha256: 'a'.repeat(64) });

    const outside = await expectDomainFailure(
      resolveFrom('../outside/model.onnx'),
      FailureType.UnsupportedSource,
    );
    expect(outside.message).toContain('escapes the repository root');
    const sneaky = await expectDomainFailure(
      resolveFrom('models/../../etc/passwd'),
      FailureType.UnsupportedSource,
    );
    expect(sneaky.message).toContain('escapes the repository root');
    const absolute = await expectDomainFailure(resolveFrom('/etc/passwd'), FailureType.UnsupportedSource);
    expect(absolute.message).toContain('absolute path');
    for (const source of ['s3://bucket/model.onnx', 'http://example.com/model.onnx', 'ftp://host/m.onnx']) {
      const failure = await expectDomainFailure(resolveFrom(source), FailureType.UnsupportedSource);
      expect(failure.message).toContain(`unsupported source scheme "${source.split(':')[0]}:"`);
    }
  });

  it('reads file:// URIs', async () => {
    const model = version('breast-cancer', 'v1');
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const source = pathToFileURL(join(REPO_ROOT, model.path)).href;
    const artifact = await resolveArtifact({ deployment: deploymentRef(), source, sha256: model.sha256 });
    expect(artifact.sha256).toBe(model.sha256);
  });

  describe('https sources', () => {
    const url = 'https://models.example.com/iris/v1/model.onnx';

    it('streams the body into the store', async () => {
      const model = version('iris', 'v1');
      const bytes = await readFile(join(REPO_ROOT, model.path));
      const requested: string[] = [];
      const fetchStub: typeof fetch = async (input) => {
        requested.push(String(input));
        return new Response(bytes, { status: 200 });
      };
      const { resolveArtifact } = createArtifactActivities({
        home: home.path,
        trees: directoryTrees(),
        fetch: fetchStub,
      });
      const artifact = await resolveArtifact({
        deployment: deploymentRef(),
        source: url,
        sha256: model.sha256,
      });
      expect(requested).toEqual([url]);
      expect(await readFile(artifact.path)).toEqual(bytes);
    });

    it('maps 404 to ArtifactNotFound and leaves server errors retryable', async () => {
      const respond = (status: number) =>
        createArtifactActivities({
          home: home.path,
          trees: directoryTrees(),
          fetch: async () => new Response('nope', { status }),
        });
      const input = { deployment: deploymentRef(), source: url, sha256: 'a'.repeat(64) };
      await expectDomainFailure(respond(404).resolveArtifact(input), FailureType.ArtifactNotFound);
      const error = await respond(503)
        .resolveArtifact(input)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(ApplicationFailure);
      expect((error as Error).message).toContain('HTTP 503');
    });
  });

  it("refuses a model over the worker's size cap without storing it, from a file or https", async () => {
    const model = version('iris', 'v1');
    const capped = createArtifactActivities({ home: home.path, trees: directoryTrees(), maxBytes: 100 });
    const fromFile = await expectDomainFailure(
      capped.resolveArtifact({ deployment: deploymentRef(), source: model.path, sha256: model.sha256 }),
      FailureType.ArtifactTooLarge,
    );
    expect(fromFile.message).toContain("over this worker's 100-byte limit");
    const bytes = await readFile(join(REPO_ROOT, model.path));
    const overHttps = createArtifactActivities({
      home: home.path,
      trees: directoryTrees(),
      maxBytes: 100,
      fetch: async () => new Response(bytes),
    });
    await expectDomainFailure(
      overHttps.resolveArtifact({
        deployment: deploymentRef(),
        source: 'https://models.example.com/iris.onnx',
        sha256: model.sha256,
      }),
      FailureType.ArtifactTooLarge,
    );
    expect(await readdir(join(home.path, 'artifacts', 'sha256'))).toEqual([]);
  });

  it('rejects a pinned digest that is not sha256 hex', async () => {
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    await expectDomainFailure(
      resolveArtifact({ deployment: deploymentRef(), source: 'models/iris/v1/model.onnx', sha256: 'abc' }),
      FailureType.InvalidSpec,
    );
  });
});
