/**
 * A real Prometheus server for tests: Debian's binary (installed by `npm test`'s set-up into
 * `.tools/prometheus`), its own temporary storage, a free port, scraping the given targets every
 * second. Started per test file and stopped with it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../worker/dev-server.ts';
import { ensurePrometheus } from '../../worker/prometheus-bin.ts';

export interface TestPrometheus {
  url: string;
  /** Resolves once an instant query for `query` returns a sample satisfying `accept`. */
  waitFor(query: string, accept: (value: number) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function instant(url: string, query: string): Promise<number[]> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  if (!response.ok) return [];
  const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
  return (body.data?.result ?? []).map((sample) => Number(sample.value[1]));
}

export async function startPrometheus(options: { targets: string[] }): Promise<TestPrometheus> {
  const binary = ensurePrometheus();
  const dir = await mkdtemp(join(tmpdir(), 'modelship-prometheus-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: modelship-data-plane',
      `    static_configs: [{ targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    binary.path,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const waitFor = async (query: string, accept: (value: number) => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${stderr}`);
      const values = await instant(url, query).catch(() => []);
      if (values.some(accept)) return;
      if (Date.now() > deadline)
        throw new Error(`prometheus: no sample of ${query} as expected within ${timeoutMs} ms`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
  };
  try {
    // Up and scraping: the target's `up` series is 1.
    await waitFor('up', (value) => value === 1, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, waitFor, stop };
}
