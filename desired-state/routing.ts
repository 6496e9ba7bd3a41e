/**
 * The rollout's routing changes as pure functions over an environment's models, to pass to
 * `DesiredStateStore.update` (`store.update(env, (models) => setCanary(models, 'iris', ref, 20))`).
 * They mirror the data plane's admin transitions (`serving/transitions.ts`), so the durable
 * record moves exactly as a replica's routing did when the workflow drove it over HTTP:
 * repeating a change returns equal models (the store then keeps the generation), and rollback
 * follows the same rules:
 * - `toVersion` given (a version the model's routing names): it becomes stable;
 * - else, while a canary or shadow is set: the rollout is abandoned, stable stays;
 * - else, with a previous stable: the last promotion is undone;
 * - else nothing changes.
 * In every case canary, shadow and previousStable are cleared. The rules on what a routing may
 * hold (canary never stable, one bundle per name…) are checked by the store on every update.
 */
import { DesiredStateError } from './errors.ts';
import type { CanaryRef, ModelRouting, Models, VersionRef } from './types.ts';

const only = (ref: VersionRef): VersionRef => ({ version: ref.version, bundle: ref.bundle });

function routingOf(models: Models, model: string): ModelRouting {
  const routing = models[model];
  if (routing === undefined) {
    const known = Object.keys(models).sort().join(', ') || 'none';
    throw new DesiredStateError(`model "${model}" is not served in this environment (models: ${known})`);
  }
  return routing;
}

const withRouting = (models: Models, model: string, routing: ModelRouting): Models => ({
  ...models,
  [model]: routing,
});

/** A model's first version: stable at 100 %. A model already served keeps its routing. */
export function serveFirstVersion(models: Models, model: string, ref: VersionRef): Models {
  if (models[model] !== undefined) return models;
  return withRouting(models, model, { stable: only(ref), canary: null, shadow: null, previousStable: null });
}

/** Sends `weight` percent of the model's traffic to `ref`. */
export function setCanary(models: Models, model: string, ref: VersionRef, weight: number): Models {
  const routing = routingOf(models, model);
  const canary: CanaryRef = { ...only(ref), weight };
  return withRouting(models, model, { ...routing, canary });
}

/** All traffic to stable again. */
export function clearCanary(models: Models, model: string): Models {
  return withRouting(models, model, { ...routingOf(models, model), canary: null });
}

/** Mirrors stable's traffic to `ref`. */
export function setShadow(models: Models, model: string, ref: VersionRef): Models {
  return withRouting(models, model, { ...routingOf(models, model), shadow: only(ref) });
}

/** Stops mirroring. */
export function clearShadow(models: Models, model: string): Models {
  return withRouting(models, model, { ...routingOf(models, model), shadow: null });
}

/** `ref` becomes stable at 100 %; canary and shadow are cleared; the old stable is kept for a rollback. */
export function promote(models: Models, model: string, ref: VersionRef): Models {
  const routing = routingOf(models, model);
  const same = routing.stable.version === ref.version;
  return withRouting(models, model, {
    stable: only(ref),
    canary: null,
    shadow: null,
    previousStable: same ? routing.previousStable : routing.stable,
  });
}

/** See the module comment. */
export function rollback(models: Models, model: string, toVersion?: string): Models {
  const routing = routingOf(models, model);
  let target: VersionRef = routing.stable;
  if (toVersion !== undefined) {
    const named = [routing.stable, routing.canary, routing.shadow, routing.previousStable].find(
      (ref) => ref?.version === toVersion,
    );
    if (!named) {
      throw new DesiredStateError(
        `model "${model}" has no version "${toVersion}" in its routing to roll back to (stable ${routing.stable.version})`,
      );
    }
    target = named;
  } else if (routing.canary === null && routing.shadow === null && routing.previousStable !== null) {
    target = routing.previousStable;
  }
  return withRouting(models, model, {
    stable: only(target),
    canary: null,
    shadow: null,
    previousStable: null,
  });
}

/** The model is no longer served: replicas drain and unload all its versions. */
export function retire(models: Models, model: string): Models {
  return Object.fromEntries(Object.entries(models).filter(([name]) => name !== model));
}
