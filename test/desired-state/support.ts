/**
 * Shared pieces of the desired-state tests: version references, a served model, a second
 * process that writes through a store, and a wait that fails with what it waited for.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { OpenDesiredStateOptions } from '../../desired-state/open.ts';
import type { Models, ReplicaReportInput, VersionRef } from '../../desired-state/types.ts';
import { REPO_ROOT } from '../support/paths.ts';

/** A version named `name` made of a bundle whose digest is `hex` repeated. */
export function ref(name: string, hex: string): VersionRef {
  return { version: name, bundle: `sha256:${hex.repeat(64 / hex.length)}` };
}

export const V1 = ref('v1', 'a');
export const V2 = ref('v2', 'b');
export const V3 = ref('v3', 'c');

/** `iris` served by V1, with V2 as a canary at `weight` percent. */
export function canaryModels(weight: number): Models {
  return { iris: { stable: V1, canary: { ...V2, weight }, shadow: null, previousStable: null } };
}

/** The change the concurrency tests repeat: one more percent on iris's canary. */
export function addOnePercent(models: Models): Models {
  const iris = models.iris;
  if (!iris?.canary) throw new Error('iris has no canary to increment');
  return { ...models, iris: { ...iris, canary: { ...iris.canary, weight: iris.canary.weight + 1 } } };
}

/** A replica's report with sensible defaults. */
export function sampleReport(overrides: Partial<ReplicaReportInput> = {}): ReplicaReportInput {
  return {
    environment: 'staging',
    replica: 'serve-0',
    generation: 1,
    serving: 1,
    status: 'converged',
    startedAt: '2026-12-05T03:00:00.000Z',
    ...overrides,
  };
}

/** Polls `probe` until it returns true, failing after `timeoutMs` with `what`. */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 3_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

const CHILD = fileURLToPath(new URL('./fixtures/store-child.ts', import.meta.url));

/** A second process running `fixtures/store-child.ts` against the store `where` describes. */
export function storeChild(where: OpenDesiredStateOptions, ...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, MODELSHIP_TEST_DESIRED_STATE: JSON.stringify(where) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** Resolves with the child's first line; rejects if it exits first, so no test hangs on it. */
export async function firstLine(child: ChildProcess): Promise<string> {
  const line = once(child.stdout as NodeJS.ReadableStream, 'data').then(([data]) => String(data).trim());
  const exited = once(child, 'exit').then(([code]) =>
    Promise.reject(new Error(`child exited with ${code} first`)),
  );
  return Promise.race([line, exited]);
}

/** The child's exit code. */
export async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}
