/** The routing transitions and the per-request pick, as pure functions (no server, no sessions). */
import { describe, expect, it } from 'vitest';
import { pickVersion, stickyRoll, WeylRoller } from '../../serving/routing.ts';
import {
  type AssignedRouting,
  assignRouting,
  clearCanary,
  emptySnapshot,
  type Named,
  promote,
  putVersion,
  type RoutingSnapshot,
  removeVersion,
  retireModel,
  retireVersion,
  rollback,
  setCanary,
  setShadow,
  type Transition,
} from '../../serving/transitions.ts';

const v = (name: string): Named => ({ name });
const V1 = v('v1');
const V2 = v('v2');
const V3 = v('v3');

function loaded(...versions: Named[]): RoutingSnapshot<Named> {
  return versions.reduce((s, version) => putVersion(s, version, 'ready'), emptySnapshot<Named>('iris'));
}

function applied(transition: Transition<Named>): { snapshot: RoutingSnapshot<Named>; unload: string[] } {
  if (!transition.ok) throw new Error(`expected ok, got ${transition.status}: ${transition.message}`);
  return { snapshot: transition.snapshot, unload: transition.unload.map((version) => version.name) };
}

const roles = (s: RoutingSnapshot<Named>) => ({
  stable: s.stable?.name ?? null,
  canary: s.canary ? `${s.canary.version.name}@${s.canary.weight}` : null,
  shadow: s.shadow?.name ?? null,
  previous: s.previousStable?.name ?? null,
  versions: [...s.versions.values()].map((e) => `${e.version.name}:${e.state}`),
});

describe('transitions', () => {
  it('makes the first ready version stable, not a warming one', () => {
    const warming = putVersion(emptySnapshot<Named>('iris'), V1, 'warming');
    expect(warming.stable).toBeNull();
    expect(putVersion(warming, V1, 'ready').stable).toBe(V1);
    expect(roles(loaded(V1, V2)).stable).toBe('v1');
  });

  it('never mutates a snapshot and bumps the generation only on change', () => {
    const before = loaded(V1, V2);
    const frozen = JSON.stringify(roles(before));
    const { snapshot } = applied(setCanary(before, 'v2', 20));
    expect(JSON.stringify(roles(before))).toBe(frozen);
    expect(snapshot.generation).toBe(before.generation + 1);
    expect(applied(setCanary(snapshot, 'v2', 20)).snapshot).toBe(snapshot);
    expect(applied(clearCanary(before)).snapshot).toBe(before);
  });

  it('promotes, remembering the previous stable and clearing canary and shadow', () => {
    let s = applied(setCanary(loaded(V1, V2, V3), 'v2', 50)).snapshot;
    s = applied(setShadow(s, 'v3')).snapshot;
    s = applied(promote(s, 'v2')).snapshot;
    expect(roles(s)).toMatchObject({ stable: 'v2', canary: null, shadow: null, previous: 'v1' });
    expect(roles(s).versions).toEqual(['v1:ready', 'v2:ready', 'v3:ready']);
  });

  it('rolls back a rollout in progress to the current stable, draining canary and shadow', () => {
    let s = applied(setCanary(loaded(V1, V2, V3), 'v2', 50)).snapshot;
    s = applied(setShadow(s, 'v3')).snapshot;
    const { snapshot, unload } = applied(rollback(s));
    expect(roles(snapshot)).toMatchObject({ stable: 'v1', canary: null, shadow: null });
    expect(unload).toEqual(['v2', 'v3']);
    expect(roles(snapshot).versions).toEqual(['v1:ready', 'v2:draining', 'v3:draining']);
  });

  it('rolls back a finished promotion to the previous stable, then has nothing left to undo', () => {
    const promoted = applied(promote(loaded(V1, V2), 'v2')).snapshot;
    const { snapshot, unload } = applied(rollback(promoted));
    expect(roles(snapshot)).toMatchObject({ stable: 'v1', previous: null });
    expect(unload).toEqual(['v2']);
    const again = applied(rollback(snapshot));
    expect(again.snapshot).toBe(snapshot);
    expect(again.unload).toEqual([]);
  });

  it('does not undo a promotion when a new canary is already running', () => {
    let s = applied(promote(loaded(V1, V2, V3), 'v2')).snapshot;
    s = applied(setCanary(s, 'v3', 10)).snapshot;
    const { snapshot, unload } = applied(rollback(s));
    expect(roles(snapshot).stable).toBe('v2');
    expect(unload).toEqual(['v3']);
  });

  it('refuses what cannot be done, with a status and a reason', () => {
    const s = loaded(V1, V2);
    expect(setCanary(s, 'v1', 10)).toEqual({
      ok: false,
      status: 409,
      message: 'version "v1" is the stable version of "iris"',
    });
    expect(setShadow(s, 'v9')).toMatchObject({ ok: false, status: 404 });
    expect(promote(putVersion(s, V3, 'warming'), 'v3')).toEqual({
      ok: false,
      status: 409,
      message: 'version "v3" of model "iris" is still warming up',
    });
    expect(rollback(emptySnapshot<Named>('iris'))).toEqual({
      ok: false,
      status: 409,
      message: 'model "iris" has no stable version to roll back to',
    });
    expect(retireVersion(s, 'v1')).toMatchObject({ ok: false, status: 409 });
  });

  it('retires an unrouted version and removes only that very version once drained', () => {
    const { snapshot, unload } = applied(retireVersion(loaded(V1, V2), 'v2'));
    expect(unload).toEqual(['v2']);
    expect(roles(snapshot).versions).toEqual(['v1:ready', 'v2:draining']);
    // A version of the same name loaded since is another object, and stays.
    const reloaded = putVersion(snapshot, v('v2'), 'ready');
    expect(removeVersion(reloaded, V2)).toBe(reloaded);
    expect(roles(removeVersion(snapshot, V2)).versions).toEqual(['v1:ready']);
  });
});

describe('pickVersion', () => {
  const roller = new WeylRoller();

  it('sends everything to stable at weight 0 and to the canary at 100', () => {
    const s = loaded(V1, V2);
    expect(pickVersion(applied(setCanary(s, 'v2', 0)).snapshot, roller, undefined)).toBe(V1);
    expect(pickVersion(applied(setCanary(s, 'v2', 100)).snapshot, roller, 'any')).toBe(V2);
    expect(pickVersion(emptySnapshot<Named>('iris'), roller, undefined)).toBeNull();
  });

  it('splits unkeyed traffic within 0.5 points of the weight over 20,000 requests', () => {
    for (const weight of [1, 10, 33.3, 50, 90]) {
      const s = applied(setCanary(loaded(V1, V2), 'v2', weight)).snapshot;
      let canary = 0;
      for (let i = 0; i < 20_000; i += 1) if (pickVersion(s, roller, undefined) === V2) canary += 1;
      expect(Math.abs((canary / 20_000) * 100 - weight), `weight ${weight}`).toBeLessThan(0.5);
    }
  });

  it('hashes route keys uniformly over [0, 100) and the same key always alike', () => {
    const rolls = Array.from({ length: 10_000 }, (_, i) => stickyRoll(`user-${i}`));
    expect(Math.min(...rolls)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...rolls)).toBeLessThan(100);
    const deciles = new Array(10).fill(0);
    for (const roll of rolls) deciles[Math.floor(roll / 10)] += 1;
    // Each decile expects 1,000; 5 standard deviations is 150.
    for (const count of deciles) expect(Math.abs(count - 1000)).toBeLessThan(150);
    expect(stickyRoll('alice')).toBe(stickyRoll('alice'));
    expect(stickyRoll('alice')).not.toBe(stickyRoll('alicf'));
  });
});

describe('retireModel', () => {
  it('clears every role and drains every ready version; a warming or draining one is left alone', () => {
    const start = putVersion(applied(setCanary(loaded(V1, V2), 'v2', 30)).snapshot, V3, 'warming');
    const { snapshot, unload } = applied(retireModel(start));
    expect(roles(snapshot)).toEqual({
      stable: null,
      canary: null,
      shadow: null,
      previous: null,
      versions: ['v1:draining', 'v2:draining', 'v3:warming'],
    });
    expect(unload).toEqual(['v1', 'v2']);
    expect(snapshot.generation).toBe(start.generation + 1);
    // Again: nothing left to drain.
    expect(applied(retireModel(snapshot)).unload).toEqual([]);
  });
});

describe('assignRouting (a replica converging on desired state)', () => {
  const target = (stable: string, extra: Partial<AssignedRouting> = {}): AssignedRouting => ({
    stable,
    canary: null,
    shadow: null,
    previousStable: null,
    ...extra,
  });

  it('sets every role at once and unloads what no role names', () => {
    const { snapshot, unload } = applied(
      assignRouting(loaded(V1, V2, V3), target('v2', { canary: { name: 'v3', weight: 20 } })),
    );
    expect(roles(snapshot)).toMatchObject({ stable: 'v2', canary: 'v3@20', shadow: null, previous: null });
    expect(unload).toEqual(['v1']);
    expect(roles(snapshot).versions).toContain('v1:draining');
  });

  it('keeps a previous stable loaded, and changes nothing when assigned the same routing twice', () => {
    const first = applied(assignRouting(loaded(V1, V2), target('v2', { previousStable: 'v1' }))).snapshot;
    expect(roles(first)).toMatchObject({ stable: 'v2', previous: 'v1', versions: ['v1:ready', 'v2:ready'] });
    expect(applied(assignRouting(first, target('v2', { previousStable: 'v1' }))).snapshot).toBe(first);
  });

  it('refuses a routing that names a version not loaded or still warming, changing nothing', () => {
    const s = putVersion(loaded(V1), V2, 'warming');
    const missing = assignRouting(s, target('v1', { shadow: 'v9' }));
    expect(missing).toMatchObject({ ok: false, status: 404 });
    const warming = assignRouting(s, target('v1', { canary: { name: 'v2', weight: 10 } }));
    expect(warming).toMatchObject({ ok: false, status: 409 });
  });
});
