/**
 * Driving the one-host stack (`compose.yaml`) through the npm `docker-compose` package and
 * Debian's `docker-compose` (1.29): up (write the stack's files, start every service, wait until
 * each is healthy, saying so as it happens), down, status and logs. Containers are found by the
 * labels compose puts on them, so status reads the engine's truth (state, health, restarts), not
 * what compose last printed.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as compose from 'docker-compose';
import { type Progress, runCommand } from './process.ts';
import { writeStackFiles } from './stack-files.ts';
import { composeEnvironment, type StackSettings, stackEndpoints } from './stack-settings.ts';

export interface StackTarget {
  /** The checkout holding `compose.yaml`. */
  root: string;
  /** The compose project name: containers, volumes and networks are named and labelled by it. */
  project: string;
  settings: StackSettings;
}

export interface ServiceState {
  service: string;
  container: string;
  /** Docker's state: created, running, restarting, exited, dead. */
  state: string;
  /** healthy, unhealthy or starting; `none` for a service without a health check. */
  health: string;
  restarts: number;
  /** When the container last started (ms since the epoch). */
  startedAt: number;
  /** The last health check's output, for a service that is not healthy. */
  lastCheck?: string;
}

/** The error compose rejects with (a result, not an Error), turned into one that quotes its output. */
function composeFailure(action: string, failure: unknown): Error {
  if (failure instanceof Error)
    return new Error(`docker-compose ${action}: ${failure.message}`, { cause: failure });
  const result = failure as Partial<compose.IDockerComposeResult>;
  const tail = `${result.err ?? ''}${result.out ?? ''}`.trim().split('\n').slice(-15).join('\n');
  return new Error(`docker-compose ${action} failed (exit ${result.exitCode ?? '?'}):\n${tail}`);
}

/** The engine's Unix socket, which the healer service mounts: from DOCKER_HOST when that names one. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  return host?.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
}

/**
 * What compose.yaml reads besides the settings: the project name (the healer watches it) and the
 * socket's group, which the healer joins to reach the engine without running as root.
 */
function runtimeEnvironment(target: StackTarget): Record<string, string> {
  const socket = dockerSocketPath();
  let gid = 0;
  try {
    gid = statSync(socket).gid;
  } catch {
    // No socket at that path: the engine is elsewhere (checkContainerTools has said so if it is unreachable).
  }
  return {
    MODELSHIP_STACK_PROJECT: target.project,
    MODELSHIP_STACK_DOCKER_SOCKET: socket,
    MODELSHIP_STACK_DOCKER_GID: String(gid),
  };
}

function composeOptions(target: StackTarget, onProgress?: Progress): compose.IDockerComposeOptions {
  let pending = '';
  return {
    cwd: target.root,
    config: join(target.root, 'compose.yaml'),
    composeOptions: [['--project-name', target.project]],
    executable: { standalone: true },
    env: { ...process.env, ...composeEnvironment(target.settings), ...runtimeEnvironment(target) },
    ...(onProgress
      ? {
          callback: (chunk: Buffer) => {
            const lines = (pending + chunk.toString('utf8')).split(/\r?\n|\r/);
            pending = lines.pop() ?? '';
            for (const line of lines) if (line.trim()) onProgress(`  ${line.trim()}`);
          },
        }
      : {}),
  };
}

/** Fails with what to do when the engine or docker-compose is missing. */
export async function checkContainerTools(): Promise<void> {
  const engine = await runCommand('docker', ['version', '--format', '{{.Server.Version}}']).catch(
    (error: Error) => ({ code: 127, output: error.message, stdout: '' }),
  );
  if (engine.code !== 0) {
    throw new Error(
      `the Docker engine does not answer (docker version: ${engine.output.trim().split('\n').pop()}); ` +
        'install it (apt-get install docker.io) and start it (dockerd --bridge=none --iptables=false, see docs/operating.md)',
    );
  }
  const tool = await runCommand('docker-compose', ['version', '--short']).catch((error: Error) => ({
    code: 127,
    output: error.message,
    stdout: '',
  }));
  if (tool.code !== 0) {
    throw new Error(
      `docker-compose is not installed (${tool.output.trim()}): apt-get install docker-compose`,
    );
  }
}

/**
 * Writes the stack's files, starts every service (`up -d`; images that are not there are pulled,
 * so a machine without Docker Hub passes stand-ins in `settings`), then waits until all are
 * healthy. `timeoutMs` bounds the wait; on timeout the error names every service not yet healthy
 * with its last health check.
 */
export async function stackUp(
  target: StackTarget,
  options: { onProgress?: Progress; timeoutMs?: number } = {},
) {
  const say = options.onProgress ?? (() => {});
  const files = await writeStackFiles(target.settings);
  say(
    files.createdSecrets
      ? `stack files: made new secrets in ${join(target.settings.dir, 'secrets')}`
      : `stack files: kept the secrets in ${join(target.settings.dir, 'secrets')}`,
  );
  say(`starting project ${target.project} (${join(target.root, 'compose.yaml')})`);
  await compose
    .upAll({ ...composeOptions(target, say), commandOptions: ['--remove-orphans'] })
    .catch((failure: unknown) => {
      throw composeFailure('up', failure);
    });
  await waitHealthy(target, { onProgress: say, timeoutMs: options.timeoutMs ?? 300_000 });
  return stackEndpoints(target.settings);
}

/** Stops and removes the project's containers and network; with `volumes`, its named volumes too. */
export async function stackDown(
  target: StackTarget,
  options: { volumes?: boolean; onProgress?: Progress } = {},
) {
  await compose
    .down({
      ...composeOptions(target, options.onProgress),
      commandOptions: ['--remove-orphans', ...(options.volumes ? ['--volumes'] : [])],
    })
    .catch((failure: unknown) => {
      throw composeFailure('down', failure);
    });
}

/** Prints the services' logs (`follow`: until interrupted) through `onLine`. */
export async function stackLogs(
  target: StackTarget,
  options: { services?: string[]; follow?: boolean; tail?: number; onLine: Progress },
) {
  let pending = '';
  await compose
    .logs(options.services ?? [], {
      ...composeOptions(target),
      follow: options.follow ?? false,
      commandOptions: ['--no-color', ...(options.tail !== undefined ? [`--tail=${options.tail}`] : [])],
      callback: (chunk: Buffer) => {
        const lines = (pending + chunk.toString('utf8')).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) options.onLine(line);
      },
    })
    .catch((failure: unknown) => {
      throw composeFailure('logs', failure);
    });
  if (pending) options.onLine(pending);
}

/** The project's containers as the engine sees them, one per service, by service name. */
export async function stackServices(project: string): Promise<ServiceState[]> {
  const ids = (
    await runCommand('docker', [
      'ps',
      '--all',
      '--quiet',
      '--filter',
      `label=com.docker.compose.project=${project}`,
    ])
  ).stdout
    .split('\n')
    .filter(Boolean);
  if (ids.length === 0) return [];
  const inspected = await runCommand('docker', ['inspect', ...ids]);
  if (inspected.code !== 0) return []; // removed between the two calls: nothing to report
  const containers = JSON.parse(inspected.stdout) as DockerContainer[];
  return containers
    .map((container) => {
      const health = container.State.Health;
      const last = health?.Log?.at(-1)?.Output?.trim();
      return {
        service: container.Config.Labels['com.docker.compose.service'] ?? container.Name,
        container: container.Name.replace(/^\//, ''),
        state: container.State.Status,
        health: health?.Status ?? 'none',
        restarts: container.RestartCount,
        startedAt: Date.parse(container.State.StartedAt),
        ...(health && health.Status !== 'healthy' && last ? { lastCheck: last.slice(0, 300) } : {}),
      };
    })
    .sort((a, b) => a.service.localeCompare(b.service));
}

interface DockerContainer {
  Name: string;
  RestartCount: number;
  Config: { Labels: Record<string, string> };
  State: { Status: string; StartedAt: string; Health?: { Status: string; Log?: { Output?: string }[] } };
}

/**
 * A service without a health check counts as up once it has kept running this long: a process
 * that fails at start is restarted by its policy and would otherwise look up between two crashes.
 */
const STEADY_MS = 5000;

/** Up: running, and healthy where the service has a health check, else running steadily. */
export const serviceIsUp = (service: ServiceState, now = Date.now()) =>
  service.state === 'running' &&
  (service.health === 'healthy' || (service.health === 'none' && now - service.startedAt >= STEADY_MS));

/** Polls the engine until every service of the project is up, printing each change of a service's state. */
export async function waitHealthy(
  target: StackTarget,
  options: { onProgress?: Progress; timeoutMs: number; pollMs?: number },
): Promise<ServiceState[]> {
  const say = options.onProgress ?? (() => {});
  const started = Date.now();
  const last = new Map<string, string>();
  for (;;) {
    const services = await stackServices(target.project);
    for (const service of services) {
      const shown = `${service.state}${service.health === 'none' ? '' : ` (${service.health})`}`;
      if (last.get(service.service) !== shown) {
        last.set(service.service, shown);
        say(
          `  ${service.service.padEnd(12)} ${shown}  after ${((Date.now() - started) / 1000).toFixed(1)} s`,
        );
      }
    }
    if (services.length > 0 && services.every((service) => serviceIsUp(service))) {
      say(`all ${services.length} services up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return services;
    }
    if (Date.now() - started > options.timeoutMs) {
      const waiting = services
        .filter((service) => !serviceIsUp(service))
        .map(
          (service) =>
            `  ${service.service}: ${service.state}, health ${service.health}${service.lastCheck ? `: ${service.lastCheck}` : ''}`,
        );
      throw new Error(
        `the stack was not healthy after ${options.timeoutMs / 1000} s:\n${waiting.join('\n')}\n` +
          `see \`modelship stack logs <service>\``,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
}

/** What `docker` holds of the project (containers, volumes, networks): empty after `down --volumes`. */
export async function stackLeftovers(
  project: string,
): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
  const list = async (args: string[]) =>
    (await runCommand('docker', [...args, '--filter', `label=com.docker.compose.project=${project}`])).stdout
      .split('\n')
      .filter(Boolean);
  return {
    containers: await list(['ps', '--all', '--format', '{{.Names}}']),
    volumes: await list(['volume', 'ls', '--quiet']),
    networks: await list(['network', 'ls', '--format', '{{.Name}}']),
  };
}
