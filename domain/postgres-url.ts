/**
 * PostgreSQL connection URLs as people see them in messages: which server and database, never
 * the password. The URL itself is handed to `pg` unchanged (it knows every libpq parameter);
 * this module only recognises one and describes it. Shared by the audit log and the desired-state
 * store, which both may keep their data in PostgreSQL.
 */
const SCHEME = /^postgres(?:ql)?:\/\//i;

// scheme://[user[:password]@]host[:port][/database][?params]. A hand-rolled split rather than
// `new URL`: the WHATWG parser rejects forms libpq accepts (`postgres://user@/db?host=/socket`),
// and its error carries the whole input, password included.
const PARTS = /^postgres(?:ql)?:\/\/(?:([^@/?]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i;

/** Whether `url` selects the PostgreSQL audit store (`postgres://…` or `postgresql://…`). */
export function isPostgresUrl(url: string): boolean {
  return SCHEME.test(url.trim());
}

/**
 * `user@host:port/database` for messages: what to check when a connection fails, without the
 * password (or any other query parameter, which may hold one too).
 */
export function describePostgresUrl(url: string): string {
  const match = PARTS.exec(url.trim());
  if (!match) return 'an unparseable PostgreSQL URL';
  const [, userinfo, hostport, database, query] = match;
  const params = new URLSearchParams(query ?? '');
  const user = decode(userinfo?.split(':')[0] ?? '') || params.get('user') || '';
  const host = decode(hostport ?? '') || params.get('host') || 'localhost';
  // A socket directory or a host with its port already says where; a bare name gets the default.
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
