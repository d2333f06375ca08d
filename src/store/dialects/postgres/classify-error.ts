import type { DbErrorKind } from '../../driver.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006']);

/** node-postgres errors by SQLSTATE (`error.code`), or by the socket error beneath. */
export function classifyPostgresError(error: unknown): DbErrorKind {
  const e = (error ?? {}) as { code?: unknown; table?: unknown; detail?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (code === '23505') {
    // detail: Key (username)=(alice) already exists.
    const column = typeof e.detail === 'string' ? /^Key \(([\w, ]+)\)=/.exec(e.detail)?.[1] : undefined;
    return { kind: 'unique', table: typeof e.table === 'string' ? e.table : undefined, column };
  }
  if (code === '40001' || code === '40P01' || code === '55P03') return { kind: 'busy' };
  if (code === '25006') return { kind: 'read-only' };
  if (code === '28P01' || code === '28000') return { kind: 'auth' };
  if (code === '3D000') return { kind: 'no-database' };
  // insufficient_privilege: `permission denied for schema public`, `… for table runs`.
  if (code === '42501') return { kind: 'privileges' };
  // node-postgres's own error when the URL asks for SSL (sslmode) and the server declines it.
  if (/server does not support SSL/i.test(message)) return { kind: 'no-ssl' };
  if (NETWORK_CODES.has(code)) return { kind: 'unreachable' };
  if (
    LOST_CODES.has(code) ||
    /Connection terminated|connection is closed|Client has encountered a connection error/i.test(message)
  ) {
    return { kind: 'connection-lost' };
  }
  return { kind: 'other' };
}
