import type { DbErrorKind } from '../../driver.js';

/** better-sqlite3 errors by their extended result code. */
export function classifySqliteError(error: unknown): DbErrorKind {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const m = /constraint failed: (\w+)\.(\w+)/.exec(message);
    return { kind: 'unique', table: m?.[1], column: m?.[2] };
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) return { kind: 'busy' };
  if (typeof code === 'string' && code.startsWith('SQLITE_READONLY')) return { kind: 'read-only' };
  return { kind: 'other' };
}
