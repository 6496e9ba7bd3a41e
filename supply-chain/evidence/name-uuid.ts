/**
 * Name-based UUIDs (RFC 9562 version 5): the same name always gives the same UUID, so a document
 * identified by one (the BOM's `serialNumber`) is written identically by a retry.
 */
import { createHash } from 'node:crypto';

/** The RFC 9562 namespace for names that are URLs. */
export const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/** The version-5 UUID of `name` in `namespace` (lowercase, hyphenated). */
export function uuidV5(name: string, namespace: string = URL_NAMESPACE): string {
  const namespaceBytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
  if (namespaceBytes.length !== 16) throw new Error(`namespace "${namespace}" is not a UUID`);
  const bytes = createHash('sha1').update(namespaceBytes).update(name, 'utf8').digest().subarray(0, 16);
  bytes.writeUInt8(((bytes.readUInt8(6) & 0x0f) | 0x50) >>> 0, 6);
  bytes.writeUInt8(((bytes.readUInt8(8) & 0x3f) | 0x80) >>> 0, 8);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
