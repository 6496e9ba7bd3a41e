/**
 * Telling text files from binaries, so "every text file in the bundle" is scanned and a
 * model.onnx is not fed to regular expressions meant for prose.
 */

/** Bytes looked at for a NUL, as git and grep do: binaries have one early, text never does. */
const NUL_PROBE_BYTES = 8 * 1024;

/**
 * The file's text, or undefined for a binary: no NUL byte in the first 8 KiB and valid UTF-8
 * throughout (a leading byte-order mark is dropped).
 */
export function decodeTextFile(bytes: Uint8Array): string | undefined {
  if (bytes.subarray(0, NUL_PROBE_BYTES).includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** True when `bytes` look like a text file: no NUL in the first 8 KiB, valid UTF-8. */
export function isTextFile(bytes: Uint8Array): boolean {
  return decodeTextFile(bytes) !== undefined;
}
