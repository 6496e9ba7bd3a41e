import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { command } from '../../cli/commands/load.ts';
import type { LoadSummary } from '../../serving/loadgen/run.ts';
import { REPO_ROOT, repoPath } from '../support/paths.ts';
import { type StubAnswer, type StubServer, startStubServer } from './stub-server.ts';

const HOLDOUT = repoPath('models/iris/holdout.csv');

let server: StubServer | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await server?.close();
  server = undefined;
});

async function stub(answer: () => StubAnswer): Promise<string> {
  server = await startStubServer(answer);
  return server.url;
}

/** Runs `modelship load` in this process, capturing stdout and stderr lines. */
async function load(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void err.push(args.join(' ')));
  const code = await command.run(argv);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Runs the real `modelship` binary; SIGINT (a Ctrl-C) is sent once `interruptWhen` is true. */
function modelship(
  argv: string[],
  interruptWhen?: () => boolean,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/modelship.mjs', ...argv], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const poll = setInterval(() => {
      if (interruptWhen?.()) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 20);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('modelship load', () => {
  it('prints a summary with shares, accuracy and latency, and exits 0', async () => {
    const url = await stub(() => ({ version: 'v1', prediction: 1 }));
    const { code, out } = await load(
      '--url',
      url,
      '--model',
      'iris',
      '--holdout',
      HOLDOUT,
      '--requests',
      '90',
      '--rate',
      '500',
      '--quiet',
    );
    expect(code).toBe(0);
    expect(out).toContain(`modelship load: iris at ${url}, rate 500/s (open loop)`);
    expect(out).toContain('90 sent, 90 answered, 90 ok, 0 errors');
    expect(out).toMatch(/latency\s+p50 [\d.]+ms\s+p90 [\d.]+ms\s+p99 [\d.]+ms\s+max [\d.]+ms/);
    // iris's holdout is stratified: a third of its rows are class 1.
    expect(out).toMatch(/v1\s+100\.0%\s+90\s+0\s+0\.333 of 90/);
  });

  it('--json prints the summary as JSON on stdout', async () => {
    const url = await stub(() => ({ version: 'v2' }));
    const { code, out } = await load(
      '--url',
      url,
      '--model',
      'iris',
      '--holdout',
      HOLDOUT,
      '--concurrency',
      '2',
      '--requests',
      '20',
      '--json',
      '--quiet',
    );
    expect(code).toBe(0);
    const summary = JSON.parse(out) as LoadSummary;
    expect(summary).toMatchObject({ mode: 'concurrency', concurrency: 2, requests: 20, ok: 20 });
    expect(summary.versions.v2?.share).toBe(1);
  });

  it('exits 1 and says why when every request failed', async () => {
    const url = await stub(() => ({ status: 500 }));
    const { code, out, err } = await load(
      '--url',
      url,
      '--model',
      'iris',
      '--holdout',
      HOLDOUT,
      '--requests',
      '10',
      '--rate',
      '1000',
      '--quiet',
    );
    expect(code).toBe(1);
    expect(out).toContain('0 ok, 10 errors (500 ×10)');
    expect(err).toContain(
      'no request succeeded: 10 of 10 failed (first error: HTTP 500: {"error":"stub says 500"})',
    );
  });

  it('rejects contradictory or malformed flags with the usage', async () => {
    await expect(
      load('--model', 'iris', '--holdout', HOLDOUT, '--rate', '5', '--concurrency', '2'),
    ).rejects.toThrow(/--rate and --concurrency exclude each other/);
    await expect(load('--model', 'iris', '--holdout', HOLDOUT, '--duration', 'soon')).rejects.toThrow(
      /--duration takes a duration such as 500ms, 30s or 2m, got "soon"/,
    );
    await expect(load('--holdout', HOLDOUT)).rejects.toThrow(/--model is required/);
    await expect(load('--model', 'iris', '--holdout', 'nope.csv')).rejects.toThrow(
      /cannot read holdout nope\.csv/,
    );
  });

  it('the binary exits 1 with a clear message when the server is unreachable', async () => {
    const url = await stub(() => ({}));
    await server?.close();
    server = undefined;
    const { code, stderr } = await modelship(['load', '--url', url, '--model', 'iris', '--holdout', HOLDOUT]);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`modelship: cannot reach ${url}: ECONNREFUSED`));
  });

  it('the binary stops on Ctrl-C and still prints the summary', async () => {
    const url = await stub(() => ({ version: 'v1' }));
    const { code, stdout, stderr } = await modelship(
      [
        'load',
        '--url',
        url,
        '--model',
        'iris',
        '--holdout',
        HOLDOUT,
        '--rate',
        '200',
        '--duration',
        '60s',
        '--json',
      ],
      () => (server?.seen.requests ?? 0) >= 20,
    );
    expect(code).toBe(0);
    expect(stderr).toContain('load: interrupted');
    const summary = JSON.parse(stdout) as LoadSummary;
    expect(summary.stoppedBy).toBe('interrupt');
    expect(summary.requests).toBeGreaterThan(0);
    expect(summary.durationS).toBeLessThan(10);
  });
});
