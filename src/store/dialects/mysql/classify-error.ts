import type { DbErrorKind } from '../../driver.js';

/** MariaDB names a column's UNIQUE key after the column; MySQL 8 prefixes the table. */
const UNIQUE_KEYS: Readonly<Record<string, { table: string; column: string }>> = {
  username: { table: 'users', column: 'username' },
  short_name: { table: 'profiles', column: 'short_name' },
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);
const LOST_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
]);

/**
 * A privilege missing: 1142 ER_TABLEACCESS_DENIED_ERROR (`INSERT command denied … for table`),
 * 1143 ER_COLUMNACCESS_DENIED_ERROR, 1044 ER_DBACCESS_DENIED_ERROR (no access to the database at
 * all, on connecting), 1227 ER_SPECIFIC_ACCESS_DENIED_ERROR (SUPER, …), 1419
 * ER_BINLOG_CREATE_ROUTINE_NEED_SUPER (a trigger with binary logging on).
 */
const PRIVILEGE_ERRNOS = new Set([1142, 1143, 1044, 1227, 1419]);

/** mysql2 errors by `errno` / `code`. */
export function classifyMysqlError(error: unknown): DbErrorKind {
  const e = (error ?? {}) as { code?: unknown; errno?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const errno = typeof e.errno === 'number' ? e.errno : 0;
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (errno === 1062) {
    const key = /for key '([^']+)'/.exec(message)?.[1] ?? '';
    const dot = key.indexOf('.');
    const known = UNIQUE_KEYS[dot >= 0 ? key.slice(dot + 1) : key];
    return { kind: 'unique', table: known?.table, column: known?.column };
  }
  // A deadlock rolls back the whole transaction; a lock wait timeout only the statement.
  if (errno === 1213) return { kind: 'busy', groupLost: true };
  if (errno === 1205) return { kind: 'busy' };
  if (errno === 1290 || errno === 1792) return { kind: 'read-only' };
  if (errno === 1045) return { kind: 'auth' };
  if (PRIVILEGE_ERRNOS.has(errno)) return { kind: 'privileges' };
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') return { kind: 'no-ssl' };
  if (errno === 1049) return { kind: 'no-database' };
  if (NETWORK_CODES.has(code)) return { kind: 'unreachable' };
  if (LOST_CODES.has(code) || errno === 1927 || errno === 2013 || errno === 2006)
    return { kind: 'connection-lost' };
  if (/connection.*(closed|lost)|closed state/i.test(message)) return { kind: 'connection-lost' };
  return { kind: 'other' };
}
