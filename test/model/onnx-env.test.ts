/**
 * Loading a model leaves nothing in the temp folder: onnxruntime's telemetry client, which
 * otherwise opens an empty `mat-debug-<pid>.log` there in every process, stays off. Each case
 * runs in a fresh process (the setting is read once per process) with its own TMPDIR.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { repoPath } from '../support/paths.ts';

const MODEL = repoPath('models/iris/v1/model.onnx');
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Runs `code` (an ES module body) in a new Node process whose temp folder is empty; its files after. */
async function tempFilesAfter(code: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-ort-env-'));
  dirs.push(dir);
  // onnxruntime's telemetry client does not start where `CI` is set (as on CI runners), so both
  // the control and the fix are judged in an environment without either variable.
  const { ORT_DISABLE_TELEMETRY: _inherited, CI: _ci, ...env } = process.env;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: repoPath(''),
    env: { ...env, TMPDIR: dir, TMP: dir, TEMP: dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.stderr).toBe('');
  expect(run.stdout).toContain('loaded');
  return readdir(dir);
}

const moduleUrl = (path: string) => JSON.stringify(pathToFileURL(repoPath(path)).href);

describe('onnxruntime environment', () => {
  it('a plain InferenceSession.create leaves mat-debug-<pid>.log (what the fix is for)', async () => {
    const files = await tempFilesAfter(
      `import { InferenceSession } from 'onnxruntime-node';
       await InferenceSession.create(${JSON.stringify(MODEL)});
       console.log('loaded');`,
    );
    expect(files.filter((name) => /^mat-debug-\d+\.log$/.test(name))).toHaveLength(1);
  });

  it('the data plane and validation loaders leave no file in the temp folder', async () => {
    const files = await tempFilesAfter(
      `import { createInferenceSession } from ${moduleUrl('model/onnx-env.ts')};
       import { loadSession } from ${moduleUrl('model/session.ts')};
       await createInferenceSession(${JSON.stringify(MODEL)}, { executionProviders: ['cpu'] });
       await loadSession(${JSON.stringify(MODEL)}, 'iris v1');
       console.log('loaded');`,
    );
    // tsx keeps its compile cache in the temp folder too; that one is not onnxruntime's.
    expect(files.filter((name) => !name.startsWith('tsx-'))).toEqual([]);
  });
});
