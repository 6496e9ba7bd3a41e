/**
 * A real load balancer for tests: Debian's HAProxy in front of data-plane replicas, as a
 * platform team would put one. Each replica is checked every 200 ms with an HTTP request
 * (`checkPath`, e.g. a model's readiness), taken out after one failed check and back after one
 * good one; a request that could not be sent to a replica, or got no answer, is sent again to
 * another (`retry-on conn-failure empty-response`, `option redispatch`), which HAProxy can do
 * for a POST because it buffers the body first (`option http-buffer-request`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../worker/dev-server.ts';
import { ensureAptTool } from './apt-tool.ts';

export function ensureHaproxy(env: NodeJS.ProcessEnv = process.env): string {
  return ensureAptTool(
    { command: 'haproxy', packageName: 'haproxy', envVar: 'HAPROXY_BIN', purpose: 'the multi-replica test' },
    env,
  );
}

export interface Balancer {
  /** `http://127.0.0.1:<port>`: what clients call. */
  url: string;
  close(): Promise<void>;
}

/** Starts HAProxy balancing round-robin over `backends` (`host:port` each); resolves once it listens. */
export async function startHaproxy(options: {
  backends: readonly string[];
  checkPath: string;
}): Promise<Balancer> {
  const dir = await mkdtemp(join(tmpdir(), 'modelship-haproxy-'));
  const port = await freePort();
  const servers = options.backends
    .map((address, index) => `  server replica${index} ${address} check inter 200ms fall 1 rise 1`)
    .join('\n');
  await writeFile(
    join(dir, 'haproxy.cfg'),
    `global
  maxconn 1000

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout
  option http-buffer-request

frontend data_plane
  bind 127.0.0.1:${port}
  default_backend replicas

backend replicas
  balance roundrobin
  option httpchk GET ${options.checkPath}
${servers}
`,
  );
  const child: ChildProcess = spawn(ensureHaproxy(), ['-f', join(dir, 'haproxy.cfg'), '-db'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${log}`);
    const up = await fetch(`${url}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port} within 10 s: ${log}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
  return {
    url,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolveExit) => child.once('exit', resolveExit));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
