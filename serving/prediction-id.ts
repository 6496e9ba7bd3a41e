/**
 * Prediction ids: what a routed infer answer gives the client to send back with the true label,
 * maybe days later, maybe to another replica, maybe after a restart. No replica remembers its
 * predictions; the id carries them, authenticated, so any replica holding the key can read it:
 *
 *   base64url( format 0x01 | key id (1) | model tag (4) | version length (1) | version (UTF-8)
 *            | issued at (uint32, Unix seconds) | nonce (8) | flags (1) | rows (1)
 *            | classes: zigzag varints, or (flags bit 0) strings as length (1) + UTF-8
 *            | (flags bit 1) top-class probability per row, one byte each (p × 255, rounded)
 *            | MAC: HMAC-SHA256 over everything before it, first 16 bytes )
 *
 * The model tag is the first 4 bytes of sha256(model name): it lets a replica tell a label sent
 * to the wrong model from a forgery without spelling the name out. The nonce (4 random bytes per
 * process, then a counter) makes every id unique, so an id is also the key replays are refused
 * by. One id covers at most `MAX_ROWS_PER_ID` rows and `MAX_CLASS_BYTES` bytes of classes; a
 * larger batch gets no id (its rows are still predicted and counted as usual). A one-row iris id
 * is 55 characters for version "v1", 67 for a 12-character version (a bundle digest's prefix).
 *
 * Keys: HKDF-SHA256 of a configured secret (every replica given the same secret derives the same
 * key). The first secret signs, every one verifies, so a key can be rotated without turning the
 * labels of ids already handed out into forgeries; the key id byte picks the key without trying
 * them all. Ids are signed with the precomputed-key HMAC of `hmac-sha256.ts` (about 0.8 µs for an
 * iris id, against 1.6 to 2.3 µs for `createHmac`) and verified with Node's `createHmac`.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { HmacSha256 } from './hmac-sha256.ts';

/** Most rows one id covers; a larger batch is answered without an id. */
export const MAX_ROWS_PER_ID = 32;
/** Most bytes of encoded classes one id holds (string classes can be long). */
const MAX_CLASS_BYTES = 512;
/** Longest id accepted back (a generous bound on what `issue` writes). */
export const MAX_ID_LENGTH = 2048;

const FORMAT = 0x01;
const MAC_BYTES = 16;
const FLAG_STRINGS = 1;
const FLAG_PROBABILITIES = 2;
const HKDF_SALT = 'modelship prediction id';
const HKDF_INFO = 'hmac-sha256 v1';

/** One derived key. */
interface Key {
  id: number;
  bytes: Buffer;
}

/** The keys ids are signed with (the first) and verified with (all). */
export interface PredictionIdKeys {
  signing: Key;
  verifying: ReadonlyMap<number, readonly Key[]>;
}

/** Keys from secrets: the first signs. Throws on an empty list or an empty secret. */
export function predictionIdKeys(secrets: readonly (string | Uint8Array)[]): PredictionIdKeys {
  if (secrets.length === 0) throw new Error('prediction ids need at least one secret');
  const keys = secrets.map((secret): Key => {
    if (secret.length === 0) throw new Error('a prediction id secret must not be empty');
    const bytes = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32));
    return { id: createHash('sha256').update(bytes).digest()[0] as number, bytes };
  });
  const verifying = new Map<number, Key[]>();
  for (const key of keys) verifying.set(key.id, [...(verifying.get(key.id) ?? []), key]);
  return { signing: keys[0] as Key, verifying };
}

/** The first 4 bytes of sha256(model): how an id names its model. */
export function modelTag(model: string): Buffer {
  return createHash('sha256').update(model, 'utf8').digest().subarray(0, 4);
}

/** What an authentic id says. */
export interface PredictionIdContent {
  /** sha256(model)[0..4], to compare with `modelTag` of the model the label was sent to. */
  modelTag: Buffer;
  version: string;
  /** Unix seconds. */
  issuedAt: number;
  /** Predicted classes as text (integers in decimal), one per row. */
  classes: string[];
  /** Whether the classes were integers (a label must then be an integer too). */
  integerClasses: boolean;
  /** Top-class probability per row, to 1/255, when the model outputs probabilities. */
  probabilities: number[] | undefined;
  /** 8 bytes unique to this id (from the MAC): the key of the replay set. */
  fingerprint: { high: number; low: number };
}

/** The per-version constant start of an id: format, key id, model tag, version. */
export function idPrefix(keys: PredictionIdKeys, model: string, version: string): Buffer | undefined {
  const name = Buffer.from(version, 'utf8');
  if (name.length > 255) return undefined;
  return Buffer.concat([
    Buffer.from([FORMAT, keys.signing.id]),
    modelTag(model),
    Buffer.from([name.length]),
    name,
  ]);
}

/** Issues ids. One per process; not re-entrant (one scratch buffer, JavaScript runs one at a time). */
export class PredictionIdIssuer {
  // Large enough for the longest id: prefix 262, fixed 14, classes 512 + one string, MAC.
  private readonly scratch = Buffer.alloc(2048);
  private readonly processNonce = randomBytes(4);
  private counter = 0;
  private readonly mac: HmacSha256;

  constructor(keys: PredictionIdKeys) {
    this.mac = new HmacSha256(keys.signing.bytes);
  }

  /**
   * The id for one answer, or undefined when the batch is too large for one. `classes` is the
   * prediction output's data; `top` the top-class probability of each row when known.
   */
  issue(
    prefix: Buffer,
    classes: ArrayLike<number | bigint | string>,
    top: Float64Array | undefined,
  ): string | undefined {
    const rows = classes.length;
    if (rows === 0 || rows > MAX_ROWS_PER_ID) return undefined;
    const out = this.scratch;
    // Byte loops rather than Buffer#copy: for a few bytes, a call into native code costs more.
    let at = 0;
    for (; at < prefix.length; at += 1) out[at] = prefix[at] as number;
    at = out.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, at);
    for (let i = 0; i < 4; i += 1) out[at++] = this.processNonce[i] as number;
    this.counter = (this.counter + 1) >>> 0;
    at = out.writeUInt32BE(this.counter, at);
    const flagsAt = at;
    at += 1;
    out[at++] = rows;
    const classesAt = at;
    const strings = typeof classes[0] === 'string';
    for (let i = 0; i < rows; i += 1) {
      const value = classes[i];
      if (strings) {
        if (typeof value !== 'string') return undefined;
        const length = out.write(value, at + 1, 256, 'utf8');
        if (length > 255 || Buffer.byteLength(value) !== length) return undefined;
        out[at] = length;
        at += 1 + length;
      } else {
        const number = typeof value === 'bigint' ? Number(value) : (value as number);
        if (!Number.isInteger(number) || number < -0x80000000 || number > 0x7fffffff) return undefined;
        // Zigzag: small negative and positive classes both take one byte.
        let zig = ((number << 1) ^ (number >> 31)) >>> 0;
        while (zig >= 0x80) {
          out[at++] = (zig & 0x7f) | 0x80;
          zig >>>= 7;
        }
        out[at++] = zig;
      }
      if (at - classesAt > MAX_CLASS_BYTES) return undefined;
    }
    let flags = strings ? FLAG_STRINGS : 0;
    if (top !== undefined) {
      flags |= FLAG_PROBABILITIES;
      for (let i = 0; i < rows; i += 1) out[at++] = Math.round((top[i] ?? 0) * 255);
    }
    out[flagsAt] = flags;
    this.mac.sign(out, at, out, at, MAC_BYTES);
    return out.toString('base64url', 0, at + MAC_BYTES);
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Reads the fields of an authenticated id; throws RangeError on a malformed one. */
function decodeFields(bytes: Buffer, end: number, fingerprint: PredictionIdContent['fingerprint']) {
  let at = 2;
  const tag = bytes.subarray(at, at + 4);
  at += 4;
  const versionLength = bytes.readUInt8(at);
  at += 1;
  if (at + versionLength > end) throw new RangeError('version runs past the end');
  const version = bytes.toString('utf8', at, at + versionLength);
  at += versionLength;
  const issuedAt = bytes.readUInt32BE(at);
  at += 4 + 8;
  const flags = bytes.readUInt8(at);
  const rows = bytes.readUInt8(at + 1);
  at += 2;
  const classes: string[] = [];
  for (let i = 0; i < rows; i += 1) {
    if (flags & FLAG_STRINGS) {
      const length = bytes.readUInt8(at);
      if (at + 1 + length > end) throw new RangeError('class runs past the end');
      classes.push(bytes.toString('utf8', at + 1, at + 1 + length));
      at += 1 + length;
    } else {
      let zig = 0;
      for (let shift = 0; ; shift += 7) {
        if (at >= end || shift > 28) throw new RangeError('class runs past the end');
        const byte = bytes.readUInt8(at++);
        zig += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) break;
      }
      classes.push(String(zig % 2 === 0 ? zig / 2 : -(zig + 1) / 2));
    }
  }
  let probabilities: number[] | undefined;
  if (flags & FLAG_PROBABILITIES) {
    if (at + rows > end) throw new RangeError('probabilities run past the end');
    probabilities = [...bytes.subarray(at, at + rows)].map((byte) => byte / 255);
    at += rows;
  }
  if (at !== end) throw new RangeError('trailing bytes');
  return {
    modelTag: Buffer.from(tag),
    version,
    issuedAt,
    classes,
    integerClasses: (flags & FLAG_STRINGS) === 0,
    probabilities,
    fingerprint,
  };
}

/**
 * The content of an id whose MAC verifies under one of `keys`, or undefined for anything else: a
 * forgery, a tampered or truncated id, an id of a key no longer configured, or text that is no
 * id at all. The MAC is checked before any field is read.
 */
export function verifyPredictionId(keys: PredictionIdKeys, id: string): PredictionIdContent | undefined {
  if (id.length > MAX_ID_LENGTH || !BASE64URL.test(id)) return undefined;
  const bytes = Buffer.from(id, 'base64url');
  const end = bytes.length - MAC_BYTES;
  if (end < 2 || bytes[0] !== FORMAT) return undefined;
  const given = bytes.subarray(end);
  const candidates = keys.verifying.get(bytes[1] as number) ?? [];
  const key = candidates.find((candidate) =>
    timingSafeEqual(
      createHmac('sha256', candidate.bytes).update(bytes.subarray(0, end)).digest().subarray(0, MAC_BYTES),
      given,
    ),
  );
  if (key === undefined) return undefined;
  try {
    return decodeFields(bytes, end, { high: given.readUInt32BE(0), low: given.readUInt32BE(4) });
  } catch {
    // Authentic but unreadable: only a bug of ours could write it; treat it as unknown.
    return undefined;
  }
}
