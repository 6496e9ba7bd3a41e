/**
 * PostgreSQL URLs in messages: which server and database, never the password. The same rules as
 * `audit/postgres-url.ts`, which this layer may not import (desired-state/ sits beside audit/,
 * and the data plane must not depend on the audit log); if both stay, move them to a shared
 * lower layer together.
 */

// scheme://[user[:password]@]host[:port][/database][?params], split by hand: `new URL` refuses
// forms libpq accepts (`postgres://user@/db?host=/socket`) and quotes the whole input on error.
const PARTS = /^postgres(?:ql)?:\/\/(?:([^@/?]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i;

/** Whether `url` is a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(url.trim());
}

/** `user@host:port/database`, for messages; no password or query parameter (which may hold one). */
export function describePostgresUrl(url: string): string {
  const match = PARTS.exec(url.trim());
  if (!match) return 'an unparseable PostgreSQL URL';
  const [, userinfo, hostport, database, query] = match;
  const params = new URLSearchParams(query ?? '');
  const user = decode(userinfo?.split(':')[0] ?? '') || params.get('user') || '';
  const host = decode(hostport ?? '') || params.get('host') || 'localhost';
  const where = host.startsWith('/') || /:\d+$/.test(host) ? host : `${host}:5432`;
  const db = decode(database ?? '') || params.get('dbname') || user;
  return `${user ? `${user}@` : ''}${where}/${db}`;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
