/**
 * HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256) for the infer hot path, where every routed
 * answer signs its prediction id. Node's `createHmac` costs 1.6 to 2.3 µs for a 40-byte message
 * here, nearly all of it fixed cost of crossing into native code and setting up the key each time;
 * this one keeps the key's inner and outer states precomputed (the optimisation RFC 2104 itself
 * describes), so a short message costs two compressions in JavaScript, about 0.6 µs.
 *
 * It is checked against `createHmac` for every length from 0 to 300 bytes (the tests), and the
 * ids it signs are verified with `createHmac` (`prediction-id.ts`), so any difference between the
 * two would refuse every label. No table is indexed by secret data, so its timing does not depend
 * on the key or the message contents, only on the length.
 */

/** The first `n` primes. */
function primes(n: number): number[] {
  const found: number[] = [];
  for (let candidate = 2; found.length < n; candidate += 1)
    if (found.every((p) => candidate % p !== 0)) found.push(candidate);
  return found;
}

// The constants as FIPS 180-4 defines them: the first 32 bits of the fractional parts of the
// cube roots of the first 64 primes (K) and of the square roots of the first 8 (initial state).
const fraction32 = (x: number) => Math.floor((x - Math.floor(x)) * 2 ** 32) | 0;
const K = Int32Array.from(primes(64), (p) => fraction32(Math.cbrt(p)));
const INITIAL = Int32Array.from(primes(8), (p) => fraction32(Math.sqrt(p)));

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** HMAC-SHA256 under one key; reuses its buffers, so one call at a time (JavaScript runs one). */
export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly state = new Int32Array(8);
  private readonly w = new Int32Array(64);
  private readonly block = new Uint8Array(64);
  private readonly innerDigest = new Uint8Array(32);

  constructor(key: Uint8Array) {
    if (key.length > 64) throw new RangeError('HmacSha256 takes keys of at most 64 bytes');
    const pad = new Uint8Array(64);
    for (const [midstate, byte] of [
      [this.inner, 0x36],
      [this.outer, 0x5c],
    ] as const) {
      pad.fill(byte);
      for (let i = 0; i < key.length; i += 1) pad[i] = (key[i] as number) ^ byte;
      midstate.set(INITIAL);
      this.compress(midstate, pad, 0);
    }
  }

  /** Writes the first `bytes` (at most 32) bytes of HMAC(key, data[0..length]) to `out` at `at`. */
  sign(data: Uint8Array, length: number, out: Uint8Array, at: number, bytes: number): void {
    this.hash(this.inner, data, length, this.innerDigest, 0, 32);
    this.hash(this.outer, this.innerDigest, 32, out, at, bytes);
  }

  /** SHA-256 continued from `midstate` (one 64-byte block already in) over data[0..length]. */
  private hash(
    midstate: Int32Array,
    data: Uint8Array,
    length: number,
    out: Uint8Array,
    at: number,
    bytes: number,
  ): void {
    const state = this.state;
    const block = this.block;
    state.set(midstate);
    let offset = 0;
    for (; offset + 64 <= length; offset += 64) this.compress(state, data, offset);
    const rest = length - offset;
    block.fill(0);
    block.set(data.subarray(offset, length));
    block[rest] = 0x80;
    if (rest >= 56) {
      this.compress(state, block, 0);
      block.fill(0);
    }
    // Length in bits of everything hashed, the key block included; messages here are far below 2^29 bytes.
    const bits = (64 + length) * 8;
    block[60] = bits >>> 24;
    block[61] = (bits >>> 16) & 0xff;
    block[62] = (bits >>> 8) & 0xff;
    block[63] = bits & 0xff;
    this.compress(state, block, 0);
    for (let i = 0; i < bytes; i += 1) out[at + i] = (state[i >> 2] as number) >>> (24 - 8 * (i & 3));
  }

  private compress(state: Int32Array, data: Uint8Array, offset: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i += 1) {
      const j = offset + 4 * i;
      w[i] =
        ((data[j] as number) << 24) |
        ((data[j + 1] as number) << 16) |
        ((data[j + 2] as number) << 8) |
        (data[j + 3] as number);
    }
    for (let i = 16; i < 64; i += 1) {
      const x = w[i - 15] as number;
      const y = w[i - 2] as number;
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
    }
    let a = state[0] as number;
    let b = state[1] as number;
    let c = state[2] as number;
    let d = state[3] as number;
    let e = state[4] as number;
    let f = state[5] as number;
    let g = state[6] as number;
    let h = state[7] as number;
    for (let i = 0; i < 64; i += 1) {
      const t1 =
        (h +
          (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
          ((e & f) ^ (~e & g)) +
          (K[i] as number) +
          (w[i] as number)) |
        0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    state[0] = ((state[0] as number) + a) | 0;
    state[1] = ((state[1] as number) + b) | 0;
    state[2] = ((state[2] as number) + c) | 0;
    state[3] = ((state[3] as number) + d) | 0;
    state[4] = ((state[4] as number) + e) | 0;
    state[5] = ((state[5] as number) + f) | 0;
    state[6] = ((state[6] as number) + g) | 0;
    state[7] = ((state[7] as number) + h) | 0;
  }
}
