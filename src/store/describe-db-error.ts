/** Database errors as an admin reads them (e.g. a duplicate username). */
export function describeDbError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unique = /UNIQUE constraint failed: users\.username/.exec(message);
  if (unique) return 'database refused the change: username already taken by another user';
  return `database refused the change: ${message}`;
}
