/**
 * A model's routing state as an immutable snapshot, and every admin change as a pure function
 * from one snapshot to the next. The registry publishes a result by replacing the model's
 * snapshot in one assignment, and the request path reads the snapshot once per request, so no
 * request can see half of a change. Changing nothing returns the same snapshot (same generation),
 * which makes repeated admin calls idempotent.
 *
 * Rollback, as designed here:
 * - `toVersion` given: that version becomes stable at 100 %.
 * - no `toVersion`, a canary or shadow is set: the rollout in progress is abandoned, the current
 *   stable stays stable.
 * - no `toVersion`, no canary or shadow, and a previous stable is known: the last promotion is
 *   undone, the previous stable becomes stable again.
 * - otherwise there is nothing to roll back: the state is unchanged (a repeated rollback is a no-op).
 * In every case canary and shadow are cleared, the previous stable is forgotten, and each version
 * that was routed before (stable, canary, shadow) and is not the new stable is drained and unloaded.
 */
import type { VersionState } from './api-types.ts';

/** What a snapshot needs to know about a version. */
export interface Named {
  readonly name: string;
}

/** A version in memory and where it is in its lifecycle. */
interface LoadedEntry<V> {
  readonly version: V;
  readonly state: VersionState;
}

/** One model's routing, never mutated: a change builds a new one. */
export interface RoutingSnapshot<V> {
  readonly model: string;
  readonly generation: number;
  readonly stable: V | null;
  readonly canary: { readonly version: V; readonly weight: number } | null;
  readonly shadow: V | null;
  /** The stable before the last promotion: a rollback without `toVersion` returns to it. */
  readonly previousStable: V | null;
  /** Every version in memory, in load order. */
  readonly versions: ReadonlyMap<string, LoadedEntry<V>>;
}

/** The outcome of an admin change: the next snapshot and the versions to drain and unload, or why not. */
export type Transition<V> =
  | { ok: true; snapshot: RoutingSnapshot<V>; unload: V[] }
  | { ok: false; status: 404 | 409; message: string };

/** A model with nothing loaded yet. */
export function emptySnapshot<V>(model: string): RoutingSnapshot<V> {
  return {
    model,
    generation: 0,
    stable: null,
    canary: null,
    shadow: null,
    previousStable: null,
    versions: new Map(),
  };
}

const next = <V>(s: RoutingSnapshot<V>, changes: Partial<RoutingSnapshot<V>>): RoutingSnapshot<V> => ({
  ...s,
  ...changes,
  generation: s.generation + 1,
});
const ok = <V>(snapshot: RoutingSnapshot<V>, unload: V[] = []): Transition<V> => ({
  ok: true,
  snapshot,
  unload,
});
const fail = <V>(status: 404 | 409, message: string): Transition<V> => ({ ok: false, status, message });

function withEntries<V extends Named>(
  s: RoutingSnapshot<V>,
  update: (entries: Map<string, LoadedEntry<V>>) => void,
): ReadonlyMap<string, LoadedEntry<V>> {
  const entries = new Map(s.versions);
  update(entries);
  return entries;
}

/** Adds a version or changes its state; the first version to become ready becomes stable. */
export function putVersion<V extends Named>(s: RoutingSnapshot<V>, version: V, state: VersionState) {
  const versions = withEntries(s, (entries) => entries.set(version.name, { version, state }));
  const stable = s.stable === null && state === 'ready' ? version : s.stable;
  return next(s, { versions, stable });
}

/** Drops a drained version's entry (only if it still is this very version, not a reload of the name). */
export function removeVersion<V extends Named>(s: RoutingSnapshot<V>, version: V): RoutingSnapshot<V> {
  if (s.versions.get(version.name)?.version !== version) return s;
  const previousStable = s.previousStable === version ? null : s.previousStable;
  return next(s, { versions: withEntries(s, (entries) => entries.delete(version.name)), previousStable });
}

function requireReady<V extends Named>(s: RoutingSnapshot<V>, name: string): V | Transition<V> {
  const entry = s.versions.get(name);
  if (!entry) {
    const loaded = [...s.versions.keys()].join(', ') || 'none';
    return fail(404, `model "${s.model}" has no version "${name}" loaded (loaded: ${loaded})`);
  }
  if (entry.state !== 'ready') {
    const why = entry.state === 'warming' ? 'is still warming up' : 'is being unloaded';
    return fail(409, `version "${name}" of model "${s.model}" ${why}`);
  }
  return entry.version;
}

const isTransition = <V>(value: V | Transition<V>): value is Transition<V> =>
  typeof value === 'object' && value !== null && 'ok' in value;

/** Sends `weight` percent of traffic to `name`; the stable version cannot be its own canary. */
export function setCanary<V extends Named>(
  s: RoutingSnapshot<V>,
  name: string,
  weight: number,
): Transition<V> {
  const version = requireReady(s, name);
  if (isTransition(version)) return version;
  if (version === s.stable) return fail(409, `version "${name}" is the stable version of "${s.model}"`);
  if (s.canary?.version === version && s.canary.weight === weight) return ok(s);
  return ok(next(s, { canary: { version, weight } }));
}

/** Sends all traffic to stable again; the former canary stays loaded. */
export function clearCanary<V extends Named>(s: RoutingSnapshot<V>): Transition<V> {
  return ok(s.canary === null ? s : next(s, { canary: null }));
}

/** Mirrors stable's traffic to `name`. */
export function setShadow<V extends Named>(s: RoutingSnapshot<V>, name: string): Transition<V> {
  const version = requireReady(s, name);
  if (isTransition(version)) return version;
  if (version === s.stable) return fail(409, `version "${name}" is the stable version of "${s.model}"`);
  return ok(s.shadow === version ? s : next(s, { shadow: version }));
}

/** Stops mirroring; the former shadow stays loaded. */
export function clearShadow<V extends Named>(s: RoutingSnapshot<V>): Transition<V> {
  return ok(s.shadow === null ? s : next(s, { shadow: null }));
}

/** `name` becomes stable at 100 %; canary and shadow are cleared; the old stable stays loaded and warm. */
export function promote<V extends Named>(s: RoutingSnapshot<V>, name: string): Transition<V> {
  const version = requireReady(s, name);
  if (isTransition(version)) return version;
  if (version === s.stable && s.canary === null && s.shadow === null) return ok(s);
  const previousStable = version === s.stable ? s.previousStable : s.stable;
  return ok(next(s, { stable: version, canary: null, shadow: null, previousStable }));
}

/** See the module comment. */
export function rollback<V extends Named>(s: RoutingSnapshot<V>, toVersion?: string): Transition<V> {
  let target: V | null;
  if (toVersion !== undefined) {
    const version = requireReady(s, toVersion);
    if (isTransition(version)) return version;
    target = version;
  } else if (s.canary !== null || s.shadow !== null || s.previousStable === null) {
    target = s.stable;
  } else {
    const version = requireReady(s, s.previousStable.name);
    if (isTransition(version)) return version;
    target = version;
  }
  if (target === null) return fail(409, `model "${s.model}" has no stable version to roll back to`);
  if (target === s.stable && s.canary === null && s.shadow === null && s.previousStable === null)
    return ok(s);

  const unload = [...new Set([s.stable, s.canary?.version ?? null, s.shadow])].filter(
    (version): version is V => version !== null && version !== target,
  );
  const versions = withEntries(s, (entries) => {
    for (const version of unload) entries.set(version.name, { version, state: 'draining' });
  });
  return ok(next(s, { stable: target, canary: null, shadow: null, previousStable: null, versions }), unload);
}

/** Drains and unloads a version that no traffic is routed to; refuses a routed one. */
export function retireVersion<V extends Named>(s: RoutingSnapshot<V>, name: string): Transition<V> {
  const entry = s.versions.get(name);
  if (!entry) return fail(404, `model "${s.model}" has no version "${name}" loaded`);
  if (entry.state === 'draining') return ok(s);
  const version = entry.version;
  const roles = [
    s.stable === version ? 'stable' : '',
    s.canary?.version === version ? 'canary' : '',
    s.shadow === version ? 'shadow' : '',
  ].filter(Boolean);
  if (roles.length > 0) {
    return fail(
      409,
      `version "${name}" of "${s.model}" is routed (${roles.join(', ')}); change the routing first`,
    );
  }
  if (entry.state === 'warming') return fail(409, `version "${name}" of "${s.model}" is still warming up`);
  const versions = withEntries(s, (entries) => entries.set(name, { version, state: 'draining' }));
  return ok(next(s, { versions }), [version]);
}

/**
 * Retires the whole model: no stable, canary or shadow any more, and every ready version drains
 * and is unloaded. Versions already draining keep draining; a version still warming is left to
 * its load, which sees the model retired and releases it instead of putting it into service.
 */
export function retireModel<V extends Named>(s: RoutingSnapshot<V>): Transition<V> {
  const unload = [...s.versions.values()]
    .filter((entry) => entry.state === 'ready')
    .map((entry) => entry.version);
  const versions = withEntries(s, (entries) => {
    for (const version of unload) entries.set(version.name, { version, state: 'draining' });
  });
  return ok(next(s, { stable: null, canary: null, shadow: null, previousStable: null, versions }), unload);
}

/** The routing a replica is told to serve, by version name (`desired-state/`'s `ModelRouting`). */
export interface AssignedRouting {
  stable: string;
  canary: { name: string; weight: number } | null;
  shadow: string | null;
  previousStable: string | null;
}

/**
 * Sets the routing to exactly `target`, every named version already loaded and ready: how a
 * replica converges on its environment's desired state, where each admin change is one such
 * assignment. Every ready version the target does not name (in any role, previousStable
 * included) drains and is unloaded; versions still warming or already draining are left alone.
 * An assignment that changes nothing keeps the snapshot, so applying one state twice is a no-op.
 */
export function assignRouting<V extends Named>(
  s: RoutingSnapshot<V>,
  target: AssignedRouting,
): Transition<V> {
  const named = (name: string) => requireReady(s, name);
  const stable = named(target.stable);
  if (isTransition(stable)) return stable;
  const canaryVersion = target.canary ? named(target.canary.name) : null;
  if (canaryVersion !== null && isTransition(canaryVersion)) return canaryVersion;
  const shadow = target.shadow === null ? null : named(target.shadow);
  if (shadow !== null && isTransition(shadow)) return shadow;
  const previousStable = target.previousStable === null ? null : named(target.previousStable);
  if (previousStable !== null && isTransition(previousStable)) return previousStable;
  const canary =
    canaryVersion === null || !target.canary
      ? null
      : { version: canaryVersion, weight: target.canary.weight };

  const kept = new Set<V>([
    stable,
    ...(canary ? [canary.version] : []),
    ...(shadow ? [shadow] : []),
    ...(previousStable ? [previousStable] : []),
  ]);
  const unload = [...s.versions.values()]
    .filter((entry) => entry.state === 'ready' && !kept.has(entry.version))
    .map((entry) => entry.version);
  const unchanged =
    unload.length === 0 &&
    s.stable === stable &&
    s.shadow === shadow &&
    s.previousStable === previousStable &&
    s.canary?.version === canary?.version &&
    s.canary?.weight === canary?.weight;
  if (unchanged) return ok(s);
  const versions = withEntries(s, (entries) => {
    for (const version of unload) entries.set(version.name, { version, state: 'draining' });
  });
  return ok(next(s, { stable, canary, shadow, previousStable, versions }), unload);
}
