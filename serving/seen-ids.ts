/**
 * The prediction ids whose labels this process has accepted, to refuse a label sent twice, in
 * fixed memory. Two generations of an open-addressing table of 64-bit fingerprints (from the
 * id's MAC, so unique per id), typed arrays allocated once: new ids go into the current
 * generation; when it holds `window` ids, the older generation is wiped and the two swap. So the
 * last `window` ids accepted are always remembered (and up to 2 × `window`); an id older than
 * that is forgotten, and its label would be accepted again.
 *
 * Each table has at least 2 × `window` slots, so it is at most half full and a probe ends after
 * a few slots. Memory: 2 tables × slots × 8 bytes, e.g. 8 MiB for the default window of 262,144.
 */

/** The default number of ids always remembered. */
export const DEFAULT_REPLAY_WINDOW = 262_144;

class Table {
  readonly high: Uint32Array;
  readonly low: Uint32Array;
  size = 0;
  constructor(readonly slots: number) {
    this.high = new Uint32Array(slots);
    this.low = new Uint32Array(slots);
  }
  private slotOf(high: number, low: number): number {
    // A slot index from bits of the fingerprint; it is a MAC, so its bits are already uniform.
    let slot = (low ^ Math.imul(high, 0x9e3779b1)) & (this.slots - 1);
    // (0, 0) marks an empty slot.
    while (this.high[slot] !== 0 || this.low[slot] !== 0) {
      if (this.high[slot] === high && this.low[slot] === low) return slot;
      slot = (slot + 1) & (this.slots - 1);
    }
    return slot;
  }
  has(high: number, low: number): boolean {
    const slot = this.slotOf(high, low);
    return this.high[slot] === high && this.low[slot] === low;
  }
  add(high: number, low: number): void {
    const slot = this.slotOf(high, low);
    if (this.high[slot] === high && this.low[slot] === low) return;
    this.high[slot] = high;
    this.low[slot] = low;
    this.size += 1;
  }
  clear(): void {
    this.high.fill(0);
    this.low.fill(0);
    this.size = 0;
  }
}

/** A bounded set of fingerprints; see the module comment. */
export class SeenIds {
  private current: Table;
  private previous: Table;

  constructor(readonly window = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isSafeInteger(window) || window < 1)
      throw new RangeError(`window must be at least 1, got ${window}`);
    let slots = 2;
    while (slots < 2 * window) slots *= 2;
    this.current = new Table(slots);
    this.previous = new Table(slots);
  }

  /** Adds the fingerprint; false when it was already there (a replay). */
  add(fingerprint: { high: number; low: number }): boolean {
    // Fingerprint (0, 0) would look like an empty slot: fold it onto (0, 1).
    const high = fingerprint.high >>> 0;
    const low = high === 0 && fingerprint.low === 0 ? 1 : fingerprint.low >>> 0;
    if (this.current.has(high, low) || this.previous.has(high, low)) return false;
    if (this.current.size >= this.window) {
      const emptied = this.previous;
      emptied.clear();
      this.previous = this.current;
      this.current = emptied;
    }
    this.current.add(high, low);
    return true;
  }
}
