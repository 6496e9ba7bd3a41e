/**
 * The port every desired-state store implements (`postgres-store.ts` for several machines,
 * `file-store.ts` for one), and the pure step both take inside their lock: apply a caller's
 * change to the current models, validate it, and decide whether it is a new generation.
 *
 * Writers (the rollout's activities) call `update`; serve replicas call `read` or `watch`, and
 * `report` on every pass of their convergence loop, which doubles as their heartbeat; the
 * rollout decides with `replicas` and `convergence.ts` whether a step has landed everywhere.
 */

import { z } from 'zod';
import { canonicalJson } from '../domain/canonical-json.ts';
import { DesiredStateConflictError, DesiredStateError, describeIssues, parseOrThrow } from './errors.ts';
import {
  type DesiredState,
  EnvironmentName,
  type ModelRouting,
  Models,
  ReplicaId,
  type ReplicaReport,
  type ReplicaReportInput,
  type ReplicaReports,
} from './types.ts';

/** A change of an environment's models: gets a private copy of the current ones, returns the next. */
export type ModelsChange = (models: Models) => Models;

/** Options of {@link DesiredStateStore.update}. */
export interface UpdateOptions {
  /** Refuse with a {@link DesiredStateConflictError} unless the environment is at this generation. */
  expectedGeneration?: number;
  /** Who writes, kept with the generation (a workflow id, `modelship serve --reset`…). */
  by?: string;
  /** Why, kept with the generation for people reading the history. */
  reason?: string;
}

/** Options of {@link DesiredStateStore.watch}. */
export interface WatchOptions {
  /**
   * Told when reading the state failed (a corrupt record, the server away); watching goes on and
   * the next change or poll tries again. Default: a process warning, once per distinct message.
   */
  onError?: (error: Error) => void;
}

/** Which reports {@link DesiredStateStore.forgetReplicas} removes. */
export type ForgetReplicas = { replica: string } | { notSeenForMs: number };

/** Ends a watch; resolves once no callback can run any more. */
export type StopWatching = () => Promise<void>;

/** The durable record of what each environment's data plane should serve. */
export interface DesiredStateStore {
  /** Where the state lives, for messages (never a password). */
  readonly location: string;

  /** The environment's current desired state; generation 0 with no models when never written. */
  read(environment: string): Promise<DesiredState>;

  /**
   * Atomic read-modify-write across processes and machines: `change` runs on the latest models
   * while every other writer of the environment waits, so no change is lost. The generation
   * grows by one only when the models differ afterwards; an unchanged result keeps the state
   * (and its generation, time and author) as it was. `change` must be synchronous and quick: it
   * runs inside the lock. Throws a {@link DesiredStateError} naming the field for models that
   * break the rules of `types.ts`, or that give a version name another bundle than it has now.
   */
  update(environment: string, change: ModelsChange, options?: UpdateOptions): Promise<DesiredState>;

  /** The environment's generations, newest first, each as it was written. */
  history(environment: string, options?: { limit?: number }): Promise<DesiredState[]>;

  /** Records a replica's report (replacing its previous one), stamped with the store's clock. */
  report(report: ReplicaReportInput): Promise<ReplicaReport>;

  /** The environment's replica reports; `seenWithinMs` leaves out those older than that. */
  replicas(environment: string, options?: { seenWithinMs?: number }): Promise<ReplicaReports>;

  /** Removes reports (a replica shutting down cleanly, or long-gone ones); returns the ids removed. */
  forgetReplicas(environment: string, which: ForgetReplicas): Promise<string[]>;

  /**
   * Calls `onChange` with the current state once watching has begun, then soon (well within a
   * second) after every change. Level-triggered: quick successive changes may arrive as one call
   * with the newest state, a state is never delivered twice in a row, and calls never overlap.
   */
  watch(
    environment: string,
    onChange: (state: DesiredState) => void,
    options?: WatchOptions,
  ): Promise<StopWatching>;

  /** Stops every watch and releases connections and timers; waits for writes in flight. */
  close(): Promise<void>;
}

/** The outcome of applying a change: the state to keep and whether it is a new generation. */
export interface NextState {
  state: DesiredState;
  changed: boolean;
}

/**
 * The pure core of `update`, run by both stores while they hold the environment's lock: checks
 * the expected generation, applies `change` to a copy, validates, and compares.
 */
export function nextDesiredState(
  current: DesiredState,
  change: ModelsChange,
  options: UpdateOptions,
  now: Date,
): NextState {
  const { environment } = current;
  if (options.expectedGeneration !== undefined && options.expectedGeneration !== current.generation) {
    throw new DesiredStateConflictError(environment, options.expectedGeneration, current.generation);
  }
  const parsed = Models.safeParse(change(structuredClone(current.models)));
  if (!parsed.success) {
    throw new DesiredStateError(
      `desired models for environment "${environment}" refused: ${describeIssues(parsed.error, 'models')}`,
    );
  }
  const models = parsed.data;
  checkBundlesKept(environment, current, models);
  if (canonicalJson(models) === canonicalJson(current.models)) return { state: current, changed: false };
  return {
    changed: true,
    state: {
      environment,
      generation: current.generation + 1,
      models,
      updatedAt: now.toISOString(),
      updatedBy: options.by ?? null,
      reason: options.reason ?? null,
    },
  };
}

/**
 * A replica may still hold any version the current state names (previousStable included), so a
 * name that comes back must come back with the same bundle: its load would be refused otherwise.
 */
function checkBundlesKept(environment: string, current: DesiredState, next: Models): void {
  for (const [model, routing] of Object.entries(next)) {
    const before = current.models[model];
    if (before === undefined) continue;
    const known = new Map(refs(before).map(([, ref]) => [ref.version, ref.bundle]));
    for (const [role, ref] of refs(routing)) {
      const bundle = known.get(ref.version);
      if (bundle !== undefined && bundle !== ref.bundle) {
        throw new DesiredStateError(
          `desired models for environment "${environment}" refused: models.${model}.${role}.bundle: version ` +
            `"${ref.version}" is bundle ${bundle} in generation ${current.generation}; give bundle ${ref.bundle} another version name`,
        );
      }
    }
  }
}

function refs(routing: ModelRouting): Array<[role: string, ref: { version: string; bundle: string }]> {
  const all: Array<[string, { version: string; bundle: string } | null]> = [
    ['stable', routing.stable],
    ['canary', routing.canary],
    ['shadow', routing.shadow],
    ['previousStable', routing.previousStable],
  ];
  return all.filter((entry): entry is [string, { version: string; bundle: string }] => entry[1] !== null);
}

/** Checks an environment name before it reaches a path, SQL or a message. */
export function checkEnvironment(environment: string): string {
  return parseOrThrow(EnvironmentName, environment, `environment "${environment}"`);
}

const Milliseconds = z.number().min(0, 'must be 0 or more milliseconds');

/** Checks which reports to forget: a valid replica id, or a non-negative age. */
export function checkForget(which: ForgetReplicas): ForgetReplicas {
  return 'replica' in which
    ? { replica: parseOrThrow(ReplicaId, which.replica, 'replica id') }
    : { notSeenForMs: parseOrThrow(Milliseconds, which.notSeenForMs, 'notSeenForMs') };
}
