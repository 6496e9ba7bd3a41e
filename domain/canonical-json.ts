/**
 * Canonical JSON: one text per JSON value, so that a digest or a chain hash computed today, by
 * another process, or by an auditor's own script over an export comes out the same.
 *
 * Definition: the value is first taken as JSON.stringify takes it — `toJSON` applied (Dates
 * become ISO strings), members that are undefined, functions or symbols left out, the same in
 * an array becoming `null`, NaN and ±Infinity becoming `null`, boxed primitives unboxed, other
 * objects (Map, Set, class instances) reduced to their own enumerable properties. So the digest
 * of a value is the digest of exactly the JSON Temporal's converter stores for it, and never
 * throws on something an activity may legitimately return. Then it is written out with:
 * - object keys sorted by UTF-16 code units (JavaScript's default sort) at every depth;
 * - no whitespace;
 * - numbers as JavaScript prints them (shortest round trip; `-0` as `0`);
 * - strings escaped as JSON.stringify does (lone surrogates as `\uXXXX`).
 * A top-level `undefined` is `null`. Like JSON.stringify, bigint and cycles throw.
 *
 * No imports: the audit chain, signed approval statements and their verifiers all write the same
 * text, in and out of the workflow sandbox.
 */
/** Canonical JSON text of `value` (see the module comment for the rules). */
export function canonicalJson(value: unknown): string {
  return write(value, [], '$') ?? 'null';
}

/** The JSON text of `value`, or undefined where JSON.stringify would leave the value out. */
function write(value: unknown, ancestors: object[], path: string): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? String(value === 0 ? 0 : value) : 'null';
    case 'object':
      return writeObject(value, ancestors, path);
    case 'bigint':
      throw new TypeError(`canonical JSON: ${path} is a bigint, which JSON cannot represent`);
    default:
      return undefined;
  }
}

function writeObject(value: object, ancestors: object[], path: string): string | undefined {
  if (ancestors.includes(value)) throw new TypeError(`canonical JSON: ${path} refers back to itself (cycle)`);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(value), [...ancestors, value], path);
  if (value instanceof Number || value instanceof String || value instanceof Boolean) {
    return write(value.valueOf(), ancestors, path);
  }
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    const items = value.map((item: unknown, index) => write(item, inner, `${path}[${index}]`) ?? 'null');
    return `[${items.join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = write(record[key], inner, `${path}.${key}`);
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
  }
  return `{${members.join(',')}}`;
}
