/**
 * The stack's healer (`modelship stack heal`, the compose service `healer`): what a Deployment
 * controller does on Kubernetes, for the services labelled `modelship.heal=true` (workers and
 * replicas). Docker's restart policy brings back a container whose process crashed, but not one
 * stopped through the engine: `docker kill` counts as an operator's stop, and a container that
 * hangs but stays up (unhealthy) is never restarted. The healer starts a labelled container that
 * was killed (exit code 137, SIGKILL, whoever sent it) and restarts one that turned unhealthy.
 * A container stopped cleanly (`docker stop`, `docker-compose stop`: SIGTERM, exit 0 or 143) is
 * left alone: that is an operator's decision. `stack down` stops the healer first (it depends on
 * the services it heals), so it never fights a shutdown.
 */
import type { Engine, EngineContainer } from './engine-api.ts';
import type { Progress } from './process.ts';

export const HEAL_LABEL = 'modelship.heal=true';

/** Exit code of a process ended by SIGKILL (128 + 9). */
const KILLED = 137;

export type HealAction = 'start' | 'restart' | 'none';

/** What to do about one container: pure, so every case is tested without an engine. */
export function healAction(container: EngineContainer): HealAction {
  if (container.state === 'exited' && container.exitCode === KILLED) return 'start';
  if (container.state === 'running' && container.health === 'unhealthy') return 'restart';
  return 'none';
}

export interface HealerOptions {
  engine: Engine;
  project: string;
  onEvent?: Progress;
  /** A container acted on is left alone this long, so a slow start is not cut short (default 60 s). */
  graceMs?: number;
  now?: () => number;
}

/** One pass over the project's labelled containers; returns what it did, by container name. */
export function createHealer(options: HealerOptions) {
  const lastAction = new Map<string, number>();
  const now = options.now ?? Date.now;
  const graceMs = options.graceMs ?? 60_000;
  const say = options.onEvent ?? (() => {});
  return async function healOnce(): Promise<Record<string, HealAction>> {
    const containers = await options.engine.containers([
      `com.docker.compose.project=${options.project}`,
      HEAL_LABEL,
    ]);
    const done: Record<string, HealAction> = {};
    for (const container of containers) {
      const action = healAction(container);
      if (action === 'none') continue;
      const last = lastAction.get(container.id);
      if (last !== undefined && now() - last < graceMs) continue;
      lastAction.set(container.id, now());
      if (action === 'start') {
        say(
          `healer: ${container.service || container.name} was killed (exit ${container.exitCode}): starting it`,
        );
        await options.engine.start(container.id);
      } else {
        say(`healer: ${container.service || container.name} is unhealthy: restarting it`);
        await options.engine.restart(container.id, 30);
      }
      done[container.name] = action;
    }
    return done;
  };
}

/** Heals every `intervalMs` until `signal` aborts; an engine error is reported and the loop goes on. */
export async function runHealer(
  options: HealerOptions & { intervalMs: number; signal: AbortSignal },
): Promise<void> {
  const healOnce = createHealer(options);
  const say = options.onEvent ?? (() => {});
  say(
    `healer: watching project ${options.project} (containers labelled ${HEAL_LABEL}) every ${options.intervalMs} ms`,
  );
  while (!options.signal.aborted) {
    try {
      await healOnce();
    } catch (error) {
      say(`healer: ${(error as Error).message}`);
    }
    await new Promise<void>((resolveWait) => {
      const timer = setTimeout(resolveWait, options.intervalMs);
      options.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolveWait();
        },
        { once: true },
      );
    });
  }
}
