/**
 * The few Docker Engine API calls the stack's healer makes, over the engine's Unix socket with
 * Node's own HTTP client: the healer runs inside the modelship image, which has no docker CLI.
 * Unversioned paths: the engine answers them at its own API version, and these fields have not
 * changed since API 1.24.
 */
import { request } from 'node:http';

export interface EngineContainer {
  id: string;
  name: string;
  service: string;
  /** created, running, restarting, exited, dead, paused. */
  state: string;
  exitCode: number;
  /** healthy, unhealthy, starting, or none. */
  health: string;
}

export interface Engine {
  /** Every container (running or not) carrying all of these labels (`key=value`). */
  containers(labels: string[]): Promise<EngineContainer[]>;
  start(id: string): Promise<void>;
  restart(id: string, stopSeconds: number): Promise<void>;
}

function call(socketPath: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveCall, reject) => {
    const sent = request({ socketPath, method, path, timeout: 30_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolveCall({ status: response.statusCode ?? 0, body }));
    });
    sent.on('timeout', () => sent.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    sent.on('error', (error) =>
      reject(
        new Error(`Docker engine at ${socketPath}: ${method} ${path}: ${error.message}`, { cause: error }),
      ),
    );
    sent.end();
  });
}

async function mustCall(socketPath: string, method: string, path: string, ok: number[]): Promise<string> {
  const { status, body } = await call(socketPath, method, path);
  if (!ok.includes(status)) {
    throw new Error(
      `Docker engine at ${socketPath}: ${method} ${path} answered ${status}: ${body.slice(0, 300)}`,
    );
  }
  return body;
}

interface ListedContainer {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
}

interface InspectedContainer {
  State: { Status: string; ExitCode: number; Health?: { Status: string } };
}

/** An Engine over the socket at `socketPath` (default /var/run/docker.sock). */
export function dockerEngine(socketPath = '/var/run/docker.sock'): Engine {
  return {
    async containers(labels) {
      const filters = encodeURIComponent(JSON.stringify({ label: labels }));
      const listed = JSON.parse(
        await mustCall(socketPath, 'GET', `/containers/json?all=true&filters=${filters}`, [200]),
      ) as ListedContainer[];
      const found: EngineContainer[] = [];
      for (const container of listed) {
        const { status, body } = await call(socketPath, 'GET', `/containers/${container.Id}/json`);
        if (status === 404) continue; // removed since the listing
        if (status !== 200) throw new Error(`Docker engine: inspect ${container.Id} answered ${status}`);
        const { State } = JSON.parse(body) as InspectedContainer;
        found.push({
          id: container.Id,
          name: (container.Names[0] ?? container.Id).replace(/^\//, ''),
          service: container.Labels['com.docker.compose.service'] ?? '',
          state: State.Status,
          exitCode: State.ExitCode,
          health: State.Health?.Status ?? 'none',
        });
      }
      return found;
    },
    async start(id) {
      // 304: already started (by Docker's own restart policy, or an operator): nothing to do.
      await mustCall(socketPath, 'POST', `/containers/${id}/start`, [204, 304]);
    },
    async restart(id, stopSeconds) {
      await mustCall(socketPath, 'POST', `/containers/${id}/restart?t=${stopSeconds}`, [204]);
    },
  };
}
