/**
 * Per-request routing: which version of a model answers. Reads one immutable snapshot (see
 * `transitions.ts`) and a number in [0, 100) called the roll: the canary answers when the roll
 * falls below its weight.
 *
 * Rolls come from one of two sources:
 * - a route key (`x-modelship-route-key`): a stable hash of the key, so one caller keeps one
 *   version at a given weight, and, because the comparison is `roll < weight`, a caller that is
 *   on the canary at 10 % stays on it at 20 %;
 * - otherwise a golden-ratio (Weyl) sequence from a random start. It is equidistributed, so the
 *   canary's share converges on its weight like 1/n instead of 1/√n for independent draws: at
 *   20,000 requests independent draws would miss ±0.5 points about one run in six, this does not.
 *   Any subsequence with a fixed stride is equidistributed too, so a client alternating two kinds
 *   of requests still sees both versions in proportion.
 */
import type { RoutingSnapshot } from './transitions.ts';

const GOLDEN_RATIO_FRACTION = 0.6180339887498949;

/** The source of rolls for requests without a route key; one per model. */
export class WeylRoller {
  private phase = Math.random();

  /** The next roll in [0, 100). */
  next(): number {
    this.phase += GOLDEN_RATIO_FRACTION;
    if (this.phase >= 1) this.phase -= 1;
    return this.phase * 100;
  }
}

/**
 * The roll for a route key, in [0, 100): FNV-1a over the UTF-16 code units, then MurmurHash3's
 * finaliser so that keys differing only in their last character spread over the whole range.
 */
export function stickyRoll(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return ((hash >>> 0) / 0x1_0000_0000) * 100;
}

/**
 * The version that answers an unpinned request: the canary when the roll (from `key`, or else
 * from `roller`) falls below its weight, otherwise stable. Rolls are drawn only when the weight is
 * strictly between 0 and 100, so the stable-only case costs two property reads.
 */
export function pickVersion<V>(
  snapshot: RoutingSnapshot<V>,
  roller: WeylRoller,
  key: string | undefined,
): V | null {
  const canary = snapshot.canary;
  if (canary === null || canary.weight <= 0) return snapshot.stable;
  if (canary.weight >= 100) return canary.version;
  const roll = key === undefined ? roller.next() : stickyRoll(key);
  return roll < canary.weight ? canary.version : snapshot.stable;
}
