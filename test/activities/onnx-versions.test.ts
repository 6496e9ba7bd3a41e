import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { env, InferenceSession } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLED_ONNXRUNTIME_VERSION,
  MAX_IR_VERSION,
  MAX_OPSET_VERSIONS,
} from '../../model/runtime-support.ts';
import { scanModelFile } from '../../model/scan.ts';
import { model } from './onnx-fixtures.ts';
import { REPO_ROOT, tempDir } from './support.ts';

/** Loads a model file in the real onnxruntime-node: undefined when it loads, else its error message. */
async function ortRefusal(path: string): Promise<string | undefined> {
  try {
    const session = await InferenceSession.create(path, { logSeverityLevel: 3 });
    await session.release();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * The version limits in runtime-support.ts are read from the installed runtime; these tests
 * prove each against it: a model at the limit loads and passes the scan, one step above is
 * refused by onnxruntime itself and, before that, by the scan's versions check.
 */
describe('the IR and opset limits match the bundled onnxruntime', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('onnx-versions');
  });
  afterAll(async () => {
    await dir.remove();
  });

  async function write(name: string, bytes: Uint8Array): Promise<string> {
    const path = join(dir.path, `${name}.onnx`);
    await writeFile(path, bytes);
    return path;
  }

  it('names the installed onnxruntime-node version', async () => {
    const manifest = JSON.parse(
      await readFile(join(REPO_ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8'),
    ) as { version: string };
    expect(manifest.version).toBe(BUNDLED_ONNXRUNTIME_VERSION);
    expect(env.versions.node).toBe(BUNDLED_ONNXRUNTIME_VERSION);
    // onnxruntime reads this at load time; 0 would turn opset refusals into warnings.
    expect(process.env.ALLOW_RELEASED_ONNX_OPSET_ONLY ?? '1').toBe('1');
  });

  it(`loads IR version ${MAX_IR_VERSION} and refuses ${MAX_IR_VERSION + 1}`, async () => {
    const atLimit = await write('ir-max', model({ irVersion: MAX_IR_VERSION }));
    expect(await ortRefusal(atLimit)).toBeUndefined();
    expect((await scanModelFile(atLimit)).findings).toEqual([]);

    const above = await write('ir-above', model({ irVersion: MAX_IR_VERSION + 1 }));
    expect(await ortRefusal(above)).toContain(`max supported IR version: ${MAX_IR_VERSION}`);
    const report = await scanModelFile(above);
    expect(report.passed).toBe(false);
    expect(report.findings).toEqual([
      {
        check: 'versions',
        severity: 'error',
        message: `ir_version is ${MAX_IR_VERSION + 1}; the bundled onnxruntime ${BUNDLED_ONNXRUNTIME_VERSION} loads IR versions up to ${MAX_IR_VERSION}`,
      },
    ]);
  });

  const domains = [
    ['', 'ai.onnx'],
    ['ai.onnx.ml', 'ai.onnx.ml'],
    ['ai.onnx.training', 'ai.onnx.training'],
  ] as const;
  it.each(domains)('loads the newest opset of domain %j and refuses the next', async (domain, canonical) => {
    const max = MAX_OPSET_VERSIONS[canonical] ?? Number.NaN;
    const opsets = (version: number) =>
      domain === ''
        ? [{ domain, version }]
        : [
            { domain: '', version: 17 },
            { domain, version },
          ];

    const atLimit = await write(`opset-${canonical}-max`, model({ opsetImport: opsets(max) }));
    expect(await ortRefusal(atLimit)).toBeUndefined();
    expect((await scanModelFile(atLimit)).findings).toEqual([]);

    const above = await write(`opset-${canonical}-above`, model({ opsetImport: opsets(max + 1) }));
    expect(await ortRefusal(above)).toContain(
      `Current official support for domain ${canonical} is till opset ${max}`,
    );
    const report = await scanModelFile(above);
    expect(report.findings).toEqual([
      {
        check: 'versions',
        severity: 'error',
        message: `opset_import ${JSON.stringify(domain)} version ${max + 1}: the bundled onnxruntime ${BUNDLED_ONNXRUNTIME_VERSION} loads ${canonical} up to opset ${max}`,
        location: 'opset_import',
      },
    ]);
  });

  it('refuses the "ai.onnx" alias above the limit, which onnxruntime itself only checks under ""', async () => {
    const max = MAX_OPSET_VERSIONS['ai.onnx'] ?? Number.NaN;
    const alias = await write(
      'opset-alias-above',
      model({ opsetImport: [{ domain: 'ai.onnx', version: max + 1 }] }),
    );
    // onnxruntime keys its released-opset table by "" and lets the alias through unchecked.
    expect(await ortRefusal(alias)).toBeUndefined();
    const report = await scanModelFile(alias);
    expect(report.findings.map((f) => [f.check, f.message])).toEqual([
      [
        'versions',
        `opset_import "ai.onnx" version ${max + 1}: the bundled onnxruntime ${BUNDLED_ONNXRUNTIME_VERSION} loads ai.onnx up to opset ${max}`,
      ],
    ]);
  });
});
