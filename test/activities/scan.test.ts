import { createHash } from 'node:crypto';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import { createScanActivities } from '../../activities/scan.ts';
import { type ScanReport, scanModelFile } from '../../model/scan.ts';
import { constantWithExternal, customNode, externalTensor, graph, ifNode, model } from './onnx-fixtures.ts';
import {
  catalog,
  deploymentRef,
  detailsOf,
  directoryTrees,
  expectDomainFailure,
  REPO_ROOT,
  tempDir,
  testSources,
  version,
} from './support.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const errors = (report: ScanReport) => report.findings.filter((f) => f.severity === 'error');
const check = (report: ScanReport, name: string) => report.checks.find((c) => c.name === name);

describe('scanModelFile', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('scan');
  });
  afterAll(async () => {
    await dir.remove();
  });

  /** Writes bytes into the scratch directory and scans them. */
  async function scanBytes(name: string, bytes: Uint8Array, options = {}): Promise<ScanReport> {
    const path = join(dir.path, name);
    await writeFile(path, bytes);
    return scanModelFile(path, options);
  }

  const models = catalog().flatMap((d) => d.versions.map((v) => [v.path, v.sha256] as const));
  it.each(models)('passes %s', async (path, digest) => {
    const report = await scanModelFile(join(REPO_ROOT, path), { expectedSha256: digest });
    expect(report.findings).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.checks.map((c) => [c.name, c.passed])).toEqual([
      ['size', true],
      ['digest', true],
      ['structure', true],
      ['versions', true],
      ['limits', true],
      ['operators', true],
      ['attributes', true],
      ['external-data', true],
      ['metadata', true],
    ]);
    expect(report.sha256).toBe(digest);
    expect(report.model).toMatchObject({ irVersion: 8, producer: expect.stringMatching(/^skl2onnx /) });
    expect(report.model?.opsets.map((o) => o.domain).sort()).toEqual(['', 'ai.onnx.ml']);
    expect(report.model?.nodeCount).toBeGreaterThan(0);
  });

  it('builds crafted models onnxruntime itself accepts (the fixtures are real ONNX)', async () => {
    const path = join(dir.path, 'baseline.onnx');
    await writeFile(path, model());
    const session = await InferenceSession.create(path);
    expect(session.inputNames).toEqual(['x']);
    await session.release();
    expect((await scanModelFile(path)).passed).toBe(true);
  });

  it('finds a custom-domain operator in the main graph', async () => {
    const report = await scanBytes('custom.onnx', model({ graph: graph({ nodes: [customNode('evil')] }) }));
    expect(report.passed).toBe(false);
    expect(errors(report)).toEqual([
      {
        check: 'operators',
        severity: 'error',
        message:
          'node "evil" (com.evil:Exfiltrate) uses operator domain "com.evil", which is not allowed (allowed: "", "ai.onnx", "ai.onnx.ml")',
        location: 'graph:main/node:evil',
      },
    ]);
    expect(check(report, 'operators')?.passed).toBe(false);
    const allowed = await scanModelFile(join(dir.path, 'custom.onnx'), {
      allowedDomains: ['', 'ai.onnx', 'com.evil'],
    });
    expect(allowed.passed).toBe(true);
  });

  it('finds a custom-domain operator hidden in an If branch', async () => {
    const report = await scanBytes(
      'nested.onnx',
      model({ graph: graph({ nodes: [ifNode(customNode('hidden'))] }) }),
    );
    expect(errors(report)).toHaveLength(1);
    expect(errors(report)[0]?.location).toBe('graph:main/node:branch/then_branch/node:hidden');
  });

  it('checks function bodies, and accepts calls to functions the model defines', async () => {
    const call = { name: 'call', opType: 'Helper', domain: 'local.fns', input: ['x'], output: ['h'] };
    const clean = {
      name: 'Helper',
      domain: 'local.fns',
      input: ['a'],
      output: ['b'],
      node: [{ opType: 'Relu' }],
    };
    const ok = await scanBytes('fn-ok.onnx', model({ graph: graph({ nodes: [call] }), functions: [clean] }));
    expect(ok.findings).toEqual([]);

    const dirty = { ...clean, node: [customNode('inside', 'com.vendor')] };
    const bad = await scanBytes(
      'fn-bad.onnx',
      model({ graph: graph({ nodes: [call] }), functions: [dirty] }),
    );
    expect(errors(bad).map((f) => [f.check, f.location])).toEqual([
      ['operators', 'function:local.fns.Helper/node:inside'],
    ]);
  });

  it.each([
    ['/etc/passwd', 'which is an absolute path'],
    ['../weights.bin', 'which contains a ".." segment'],
    ['data/../../weights.bin', 'which contains a ".." segment'],
    ['data\\weights.bin', 'which contains a backslash'],
    ['weights.bin\0.png', 'which contains a NUL byte'],
    ['C:/weights.bin', 'which is an absolute path'],
  ])('refuses external data at %j', async (location, reason) => {
    const bytes = model({ graph: graph({ initializer: [externalTensor('W', { location })] }) });
    const report = await scanBytes('external.onnx', bytes);
    expect(errors(report)).toEqual([
      {
        check: 'external-data',
        severity: 'error',
        message: `tensor "W" reads external data from ${JSON.stringify(location)}, ${reason}`,
        location: 'graph:main/initializer:W',
      },
    ]);
  });

  it('finds external data in node attribute tensors too', async () => {
    const report = await scanBytes(
      'attr.onnx',
      model({ graph: graph({ nodes: [constantWithExternal('/tmp/x')] }) }),
    );
    expect(errors(report).map((f) => f.location)).toEqual(['graph:main/node:const/value']);
  });

  it('flags external data without a location, and warns about a safe one', async () => {
    const missing = model({ graph: graph({ initializer: [externalTensor('W', { offset: '0' })] }) });
    expect(errors(await scanBytes('no-location.onnx', missing))[0]?.message).toBe(
      'tensor "W" is marked as external data but names no location',
    );
    const safe = model({ graph: graph({ initializer: [externalTensor('W', { location: 'weights.bin' })] }) });
    const report = await scanBytes('safe.onnx', safe);
    expect(report.passed).toBe(true);
    expect(report.findings.map((f) => [f.check, f.severity])).toEqual([['external-data', 'warning']]);
  });

  it('refuses external data that escapes through a symlink', async () => {
    await symlink('/etc/hostname', join(dir.path, 'link.bin'));
    const bytes = model({ graph: graph({ initializer: [externalTensor('W', { location: 'link.bin' })] }) });
    const report = await scanBytes('symlink.onnx', bytes);
    expect(errors(report)[0]?.message).toContain("escapes the model's directory");
  });

  it.each([0.5, 0.9, 0.999])('reports a real model truncated to %s of its size', async (fraction) => {
    const bytes = await readFile(join(REPO_ROOT, version('iris', 'v2').path));
    const report = await scanBytes('truncated.onnx', bytes.subarray(0, Math.floor(bytes.length * fraction)));
    expect(report.passed).toBe(false);
    expect(errors(report)[0]).toMatchObject({ check: 'structure' });
    expect(errors(report)[0]?.message).toMatch(
      /^not a valid ONNX protobuf \(truncated or corrupt file\?\): /,
    );
    expect(report.model).toBeNull();
    expect(check(report, 'operators')).toEqual({
      name: 'operators',
      passed: false,
      detail: 'not run: the model did not decode',
    });
  });

  it('reports files that decode but are not models', async () => {
    const empty = await scanBytes('empty.onnx', new Uint8Array());
    expect(errors(empty).map((f) => f.message)).toEqual([
      'ir_version is 0: missing or older than 3, not a usable ONNX model',
      'the model imports no operator set (opset_import is empty)',
      'the model has no graph',
    ]);
    const text = await scanBytes('text.onnx', new TextEncoder().encode('hello, I am not a model\n'));
    expect(text.passed).toBe(false);
    expect(errors(text)[0]?.check).toBe('structure');
  });

  it('enforces the size limit before reading the file', async () => {
    const path = join(REPO_ROOT, version('iris', 'v1').path);
    const report = await scanModelFile(path, { maxBytes: 100 });
    expect(errors(report)).toEqual([
      {
        check: 'size',
        severity: 'error',
        message: `the model file is ${version('iris', 'v1').size_bytes} bytes, over the 100-byte limit`,
      },
    ]);
    expect(report.sha256).toBeNull();
    expect(report.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual([
      'size',
      'digest',
      'structure',
      'versions',
      'limits',
      'operators',
      'attributes',
      'external-data',
      'metadata',
    ]);
  });

  it('compares the digest of the bytes it parsed with the expected one', async () => {
    const model = version('iris', 'v1');
    const wrong = 'f'.repeat(64);
    const report = await scanModelFile(join(REPO_ROOT, model.path), { expectedSha256: wrong });
    expect(errors(report)).toEqual([
      {
        check: 'digest',
        severity: 'error',
        message: `the bytes have sha256 ${model.sha256}, the artifact declares sha256 ${wrong}`,
      },
    ]);
  });

  it('caps repeated findings so a report stays readable', async () => {
    const nodes = Array.from({ length: 25 }, (_, i) => customNode(`evil${i}`));
    const report = await scanBytes('many.onnx', model({ graph: graph({ nodes }) }));
    expect(report.findings).toHaveLength(21);
    expect(report.findings[20]).toEqual({
      check: 'operators',
      severity: 'error',
      message: '5 more operators finding(s) not shown',
    });
  });
});

describe('scanModel activity', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    home = await tempDir('scan-activity');
  });
  afterAll(async () => {
    await home.remove();
  });

  it('returns the report for a stored committed model', async () => {
    const model = version('breast-cancer', 'v2');
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const artifact = await resolveArtifact({
      deployment: deploymentRef(),
      source: model.path,
      sha256: model.sha256,
    });
    const report = await createScanActivities({ ...testSources(home.path) }).scanModel({
      deployment: deploymentRef(),
      artifact,
    });
    expect(report.passed).toBe(true);
    expect(report.sha256).toBe(model.sha256);
  });

  it('throws ScanFailed listing the findings, with the report as details', async () => {
    const bytes = model({
      graph: graph({
        nodes: [customNode('evil')],
        initializer: [externalTensor('W', { location: '/etc/shadow' })],
      }),
    });
    await writeFile(join(home.path, 'bad.onnx'), bytes);
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const deployment = deploymentRef(home.path);
    const artifact = await resolveArtifact({ deployment, source: 'bad.onnx', sha256: sha256(bytes) });
    const failure = await expectDomainFailure(
      createScanActivities({ ...testSources(home.path) }).scanModel({ deployment, artifact }),
      FailureType.ScanFailed,
    );
    expect(failure.message).toContain('found 2 error(s)');
    expect(failure.message).toContain(
      'operators: node "evil" (com.evil:Exfiltrate) uses operator domain "com.evil"',
    );
    expect(failure.message).toContain('external-data: tensor "W" reads external data from "/etc/shadow"');
    const report = detailsOf<ScanReport>(failure);
    expect(report.passed).toBe(false);
    expect(report.findings).toHaveLength(2);
  });

  it('honours configured limits', async () => {
    const model = version('iris', 'v1');
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    const artifact = await resolveArtifact({
      deployment: deploymentRef(),
      source: model.path,
      sha256: model.sha256,
    });
    const scan = createScanActivities({ ...testSources(home.path), limits: { allowedDomains: [''] } });
    const failure = await expectDomainFailure(
      scan.scanModel({ deployment: deploymentRef(), artifact }),
      FailureType.ScanFailed,
    );
    expect(failure.message).toContain(
      'uses operator domain "ai.onnx.ml", which is not allowed (allowed: "")',
    );
  });
});
