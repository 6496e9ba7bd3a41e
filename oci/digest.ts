/**
 * sha256 digests as OCI writes them (`sha256:<64 lowercase hex>`), and the streams that compute
 * one while bytes pass. modelship addresses content only by sha256: another algorithm in a
 * descriptor is refused where it is parsed, so nothing unverifiable is ever accepted.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

/** `sha256:` followed by 64 lowercase hex digits. */
export type Digest = `sha256:${string}`;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Whether `value` is a sha256 digest in OCI form. */
export function isDigest(value: string): value is Digest {
  return DIGEST.test(value);
}

/** The hex part of a digest: the blob's file name in a layout, and the referrers tag's suffix. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** The digest of bytes held in memory. */
export function digestOf(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The digest and size of a file, read as a stream. */
export async function digestFile(path: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/**
 * A pass-through stream that hashes and counts what passes, and fails as soon as more than
 * `maxBytes` have passed, so a source that lies about (or never states) its length stops at the
 * cap rather than at the end of the disk.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private seen = 0;

  constructor(
    private readonly maxBytes: number = Number.POSITIVE_INFINITY,
    private readonly onTooLarge: (maxBytes: number) => Error = (max) => new Error(`more than ${max} bytes`),
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) {
      callback(this.onTooLarge(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** The digest and size of everything that passed; call once the stream has finished. */
  result(): { digest: Digest; size: number } {
    return { digest: `sha256:${this.hash.digest('hex')}`, size: this.seen };
  }
}
