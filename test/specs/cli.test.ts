/**
 * `modelship validate` and `modelship schema` as a user runs them: the real binary in a child
 * process, checked on exit code, stdout and stderr.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { renderJsonSchema } from '../../specs/json-schema.ts';
import { REPO_ROOT } from './helpers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `modelship <args>` from the repository root. */
function modelship(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('node', ['bin/modelship.mjs', ...args], { cwd: REPO_ROOT }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const IRIS = 'specs/examples/iris.yaml';
const WEIGHTS = 'test/fixtures/specs/invalid/weights-not-increasing.yaml';

// Concurrent: each test waits on its own child process (tsx start-up dominates).
describe.concurrent('modelship validate', () => {
  const outside = mkdtempSync(join(tmpdir(), 'modelship-validate-'));
  afterAll(() => rmSync(outside, { recursive: true, force: true }));

  it('prints a one-line summary per valid spec and exits 0', async ({ expect }) => {
    const run = await modelship('validate', IRIS);
    expect(run).toEqual({
      code: 0,
      stdout:
        'ok  specs/examples/iris.yaml  iris → staging: models/iris/v2/model.onnx (sha256 369c629d…), ' +
        '5 steps (shadow 10m, 10%, analysis 5m, approval by alice, 100%)\n',
      stderr: '',
    });
  });

  it('prints each error as file:line:column to stderr and exits 1', async ({ expect }) => {
    const run = await modelship('validate', 'test/fixtures/specs/invalid/several-rule-errors.yaml');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(line).toMatch(
        /^test\/fixtures\/specs\/invalid\/several-rule-errors\.yaml:\d+:\d+ {2}spec\.\S+: \S/,
      );
    }
    expect(lines[2]).toBe(
      'test/fixtures/specs/invalid/several-rule-errors.yaml:33:20  spec.rollout.steps.2.setWeight: must be greater than the previous setWeight (60)',
    );
  });

  it('checks every file and exits 1 if any is invalid', async ({ expect }) => {
    const run = await modelship('validate', IRIS, WEIGHTS, 'specs/examples/breast-cancer.yaml');
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n').filter((line) => line.startsWith('ok  '))).toHaveLength(2);
    expect(run.stderr).toContain(`${WEIGHTS}:33:20  spec.rollout.steps.2.setWeight:`);
  });

  it('exits 2 without files, with the usage', async ({ expect }) => {
    const run = await modelship('validate');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no spec file given');
    expect(run.stderr).toContain('Usage: modelship validate');
  });

  it('exits 2 naming a file it cannot read, and still checks the others', async ({ expect }) => {
    const run = await modelship('validate', 'specs/examples/nope.yaml', IRIS);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('modelship: cannot read specs/examples/nope.yaml: no such file\n');
    expect(run.stdout).toMatch(/^ok {2}specs\/examples\/iris\.yaml {2}/);
  });

  it('prints one JSON document with --format json', async ({ expect }) => {
    const run = await modelship('validate', '--format', 'json', IRIS, WEIGHTS);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      files: [
        { file: IRIS, ok: true, summary: expect.stringMatching(/^iris → staging: /) },
        {
          file: WEIGHTS,
          ok: false,
          errors: [
            {
              file: WEIGHTS,
              line: 33,
              column: 20,
              path: 'spec.rollout.steps.2.setWeight',
              message: 'must be greater than the previous setWeight (50)',
              rule: 'weights-increase',
            },
          ],
        },
      ],
    });
  });

  it('resolves model paths against the git top-level, or --repo-root', async ({ expect }) => {
    // Outside any git work tree, paths fall back to the working directory (here the repository).
    const copy = join(outside, 'iris.yaml');
    copyFileSync(join(REPO_ROOT, IRIS), copy);
    expect((await modelship('validate', copy)).code).toBe(0);

    const elsewhere = await modelship('validate', '--repo-root', outside, copy);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('no such file in the repository: models/iris/v2/model.onnx');
  });
});

describe.concurrent('modelship schema', () => {
  it('prints the generated JSON Schema', async ({ expect }) => {
    expect(await modelship('schema')).toEqual({ code: 0, stdout: renderJsonSchema(), stderr: '' });
  });

  it('--check passes while the committed file is current', async ({ expect }) => {
    expect(await modelship('schema', '--check')).toEqual({
      code: 0,
      stdout:
        'specs/modeldeployment.schema.json is up to date\nspecs/modeldeployment-overlay.schema.json is up to date\n',
      stderr: '',
    });
  });

  it('refuses --write with --check', async ({ expect }) => {
    const run = await modelship('schema', '--write', '--check');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--write and --check exclude each other');
  });
});
