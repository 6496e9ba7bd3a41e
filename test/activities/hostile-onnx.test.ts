import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatFinding, type ScanReport, scanModelFile } from '../../model/scan.ts';
import { buildOnnxCases, ONNX_CASES, type OnnxCase } from '../../scripts/hostile-corpus/onnx.ts';
import { catalog, REPO_ROOT, tempDir } from './support.ts';

const errors = (report: ScanReport) => report.findings.filter((f) => f.severity === 'error');

describe('hostile ONNX corpus', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('hostile-onnx');
    await buildOnnxCases(dir.path);
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('writes one directory per case with its model and case.json', async () => {
    const names = (await readdir(dir.path)).sort();
    expect(names).toEqual(ONNX_CASES.map((c) => c.name).sort());
    expect(names.length).toBeGreaterThanOrEqual(14);
    for (const name of names) {
      const spec = JSON.parse(await readFile(join(dir.path, name, 'case.json'), 'utf8')) as OnnxCase;
      expect(Object.keys(spec).sort()).toEqual(['check', 'description', 'finding', 'step']);
      expect(spec.step).toBe('scan');
      expect((await lstat(join(dir.path, name, 'model', 'model.onnx'))).isFile()).toBe(true);
    }
    const link = await lstat(join(dir.path, 'external-data-symlink-escape', 'model', 'weights.bin'));
    expect(link.isSymbolicLink()).toBe(true);
  });

  it('builds the same bytes every time', async () => {
    const again = await tempDir('hostile-onnx-again');
    try {
      await buildOnnxCases(again.path);
      for (const { name } of ONNX_CASES) {
        const first = await readFile(join(dir.path, name, 'model', 'model.onnx'));
        const second = await readFile(join(again.path, name, 'model', 'model.onnx'));
        expect(second.equals(first), name).toBe(true);
      }
    } finally {
      await again.remove();
    }
  });

  it.each(ONNX_CASES.map((c) => [c.name, c] as const))('refuses %s', async (name, spec) => {
    const report = await scanModelFile(join(dir.path, name, 'model', 'model.onnx'));
    expect(report.passed).toBe(false);
    const matching = errors(report).filter((f) => f.check === spec.check && f.message.includes(spec.finding));
    expect(matching, `findings were:\n${report.findings.map(formatFinding).join('\n')}`).not.toEqual([]);
    expect(report.checks.find((c) => c.name === spec.check)?.passed).toBe(false);
  });

  const examples = catalog().flatMap((d) => d.versions.map((v) => v.path));
  it('has every example model of the catalog, v1, v2 and bad-*', () => {
    expect(examples.filter((p) => /\/(v1|v2)\//.test(p))).toHaveLength(4);
    expect(examples.filter((p) => /\/bad-/.test(p)).length).toBeGreaterThanOrEqual(4);
  });

  it.each(examples)('passes the example model %s with no error finding', async (path) => {
    const report = await scanModelFile(join(REPO_ROOT, path));
    expect(errors(report)).toEqual([]);
    expect(report.passed).toBe(true);
  });
});
