import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { command } from '../../cli/commands/scan.ts';
import { customNode, graph, ifNode, model } from './onnx-fixtures.ts';
import { REPO_ROOT, tempDir, version } from './support.ts';

/** Runs `modelship scan` with the given arguments, capturing what it prints. */
async function scan(...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.join(' '));
  });
  try {
    return { code: await command.run(argv), out: lines.join('\n') };
  } finally {
    log.mockRestore();
  }
}

describe('modelship scan', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bad: string;
  beforeAll(async () => {
    dir = await tempDir('scan-cli');
    bad = join(dir.path, 'bad.onnx');
    await writeFile(bad, model({ graph: graph({ nodes: [customNode('evil')] }) }));
  });
  afterAll(async () => {
    await dir.remove();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const good = () => join(REPO_ROOT, version('iris', 'v2').path);

  it('exits 0 and says ok for committed models', async () => {
    const { code, out } = await scan(good(), join(REPO_ROOT, version('breast-cancer', 'v1').path));
    expect(code).toBe(0);
    expect(out).toMatch(
      /iris\/v2\/model\.onnx: ok \(skl2onnx [\d.]+, ir 8, opsets .*ai\.onnx\.ml \d+, \d+ nodes\)/,
    );
  });

  it('exits 1 and prints each finding when any file has an error', async () => {
    const { code, out } = await scan(good(), bad);
    expect(code).toBe(1);
    expect(out).toContain(`${bad}: FAILED, 1 error(s)`);
    expect(out).toContain(
      '  error operators: node "evil" (com.evil:Exfiltrate) uses operator domain "com.evil", which is not allowed',
    );
    expect(out).toContain('(at graph:main/node:evil)');
  });

  it('prints JSON reports with --json', async () => {
    const { code, out } = await scan('--json', bad);
    expect(code).toBe(1);
    const [outcome] = JSON.parse(out) as [{ file: string; report: { passed: boolean } }];
    expect(outcome).toMatchObject({ file: bad, report: { passed: false } });
  });

  it('checks the digest only when --sha256 is given', async () => {
    expect((await scan('--sha256', version('iris', 'v2').sha256, good())).code).toBe(0);
    const { code, out } = await scan('--sha256', 'a'.repeat(64), good());
    expect(code).toBe(1);
    expect(out).toContain(`digest: the bytes have sha256 ${version('iris', 'v2').sha256}`);
  });

  it('allows extra domains, and reports unreadable files', async () => {
    expect((await scan('--allow-domain', 'com.evil', bad)).code).toBe(0);
    const { code, out } = await scan(join(dir.path, 'missing.onnx'));
    expect(code).toBe(1);
    expect(out).toContain('missing.onnx: cannot read: ENOENT');
  });

  it("prints the deep checks' findings with their locations, and takes node and nesting limits", async () => {
    const nested = join(dir.path, 'nested.onnx');
    await writeFile(
      nested,
      model({
        irVersion: 14,
        metadataProps: [
          { key: 'owner', value: 'a' },
          { key: 'owner', value: 'b' },
        ],
        graph: graph({ nodes: [ifNode({ name: 'inner', opType: 'Relu', input: ['x'], output: ['r'] })] }),
      }),
    );
    const { code, out } = await scan('--max-graph-depth', '0', '--max-nodes', '3', nested);
    expect(code).toBe(1);
    expect(out).toContain(
      `${nested}: FAILED, 4 error(s) (modelship-tests 1, ir 14, opsets ai.onnx 17, 4 nodes, subgraphs 1 deep)`,
    );
    expect(out).toContain(
      '  error versions: ir_version is 14; the bundled onnxruntime 1.30.0 loads IR versions up to 13',
    );
    expect(out).toContain(
      '  error limits: subgraphs are nested 1 levels deep, over the limit of 0 (at graph:main/node:branch/then_branch)',
    );
    expect(out).toContain(
      '  error limits: the model has 4 nodes (main graph, subgraphs and functions), over the limit of 3',
    );
    expect(out).toContain(
      '  error metadata: metadata key "owner" appears 2 times in the model metadata_props',
    );
    await expect(command.run(['--max-graph-depth=1.5', nested])).rejects.toThrow(
      '--max-graph-depth must be a non-negative integer, got "1.5"',
    );
  });

  it('finds a credential in the model metadata and shows it masked', async () => {
    // The hostile corpus's case: iris with an AWS access key in metadata_props.
    const leaky = join(REPO_ROOT, 'test/fixtures/hostile/secrets/model-key-in-metadata/model/model.onnx');
    const { code, out } = await scan(leaky);
    expect(code).toBe(1);
    expect(out).toMatch(/: FAILED, \d+ error\(s\)/);
    expect(out).toMatch(
      / {2}error model\.onnx#metadata_props\[\w+\]:\d+:\d+ {2}secret: .*\[@secretlint\/secretlint-rule-aws\]/,
    );
    // Only a prefix of the key is ever shown.
    expect(out).not.toMatch(/AKIA[0-9A-Z]{16}/);
  });

  it('counts secrets as errors, never as negative warnings', async () => {
    const leaky = join(REPO_ROOT, 'test/fixtures/hostile/secrets/model-key-in-metadata/model/model.onnx');
    const { out } = await scan(leaky);
    const printed = out.split('\n').filter((line) => line.startsWith('  error ')).length;
    const warnings = out.split('\n').filter((line) => line.startsWith('  warning ')).length;
    expect(printed).toBeGreaterThan(0);
    const head = out.split('\n')[0] ?? '';
    expect(head).toContain(`: FAILED, ${printed} error(s)`);
    expect(head).not.toMatch(/-\d+ warning/);
    if (warnings === 0) expect(head).not.toContain('warning(s)');
    else expect(head).toContain(`, ${warnings} warning(s)`);
  });

  it('rejects usage mistakes', async () => {
    await expect(command.run([])).rejects.toThrow('no model files given');
    await expect(command.run(['--sha256', 'xyz', good()])).rejects.toThrow(
      '--sha256 must be 64 hex characters',
    );
    await expect(command.run(['--max-bytes', '1.5', good()])).rejects.toThrow(
      '--max-bytes must be a positive',
    );
  });
});
