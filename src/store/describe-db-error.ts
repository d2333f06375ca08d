import type { DialectCapabilities } from './driver.js';

/** Database errors as an admin reads them (e.g. a duplicate username), whatever the dialect. */
export function describeDbError(error: unknown, capabilities: DialectCapabilities): string {
  const message = error instanceof Error ? error.message : String(error);
  const kind = capabilities.classifyError(error);
  if (kind.kind === 'unique' && kind.table === 'users' && kind.column === 'username') {
    return 'database refused the change: username already taken by another user';
  }
  if (kind.kind === 'unique') return `database refused the change: a duplicate value (${message})`;
  if (kind.kind === 'read-only') return `database is read-only: ${message}`;
  return `database refused the change: ${message}`;
}
