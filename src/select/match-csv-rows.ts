import { UsageError } from '../errors.js';
import type { StoreDriver } from '../store/driver.js';
import { findUserField, USER_FIELDS, type UserField } from '../store/user-fields.js';
import type { CsvRow } from './read-csv.js';

/** The key columns tried in order when `--match` is not given. */
export const DEFAULT_KEY_COLUMNS = ['obj_id', 'username', 'email', 'external_id'] as const;

/** Distinct keys per lookup query: one `IN (…)` with this many parameters. */
export const MATCH_CHUNK_KEYS = 500;

/** What one CSV row matched, in file order. */
export type RowMatch =
  | { line: number; values: Record<string, string>; status: 'matched'; userId: number }
  | { line: number; values: Record<string, string>; status: 'not_found'; reason: string }
  | { line: number; values: Record<string, string>; status: 'ambiguous'; userIds: number[]; reason: string };

/**
 * Picks the column whose values identify users: `match` (the `--match COLUMN` option) when
 * given, else the first header present of obj_id, username, email, external_id (any case).
 * Returns the column as spelled in the header. The column must be named after the user field
 * it is matched against: `obj_id` or a text field. `file` prefixes error messages.
 */
export function pickKeyColumn(columns: readonly string[], match?: string, file?: string): string {
  const where = file ? `${file}: ` : '';
  const listed = columns.length > 0 ? columns.join(', ') : '(none)';
  if (match === undefined) {
    for (const key of DEFAULT_KEY_COLUMNS) {
      const column = columns.find((c) => c.toLowerCase() === key);
      if (column !== undefined) return column;
    }
    throw new UsageError(
      `${where}no key column: add one of ${DEFAULT_KEY_COLUMNS.join(', ')} or use --match (columns: ${listed})`,
    );
  }
  const column =
    columns.find((c) => c === match) ?? columns.find((c) => c.toLowerCase() === match.toLowerCase());
  if (column === undefined) {
    throw new UsageError(`${where}--match ${match}: no such column (columns: ${listed})`);
  }
  keyField(column, where);
  return column;
}

/**
 * Matches rows to users by `keyColumn` (see `pickKeyColumn`), all at once. For large files use
 * `matchCsvRowsInChunks`, which yields the same results chunk by chunk.
 */
export async function matchCsvRows(
  store: StoreDriver,
  keyColumn: string,
  rows: Iterable<CsvRow>,
): Promise<RowMatch[]> {
  const all: RowMatch[] = [];
  for await (const chunk of matchCsvRowsInChunks(store, keyColumn, rows)) all.push(...chunk);
  return all;
}

/**
 * Matches rows to users, one query per `chunkKeys` distinct keys, yielding each chunk's
 * results in file order. Text keys are trimmed and compared case-insensitively (the
 * dialect's SQL `lower()`, as filters compare; SQLite folds ASCII letters only); `obj_id` must be a whole number. A row whose key
 * is empty or has no user is `not_found`; one whose key several users share is `ambiguous`.
 */
export async function* matchCsvRowsInChunks(
  store: StoreDriver,
  keyColumn: string,
  rows: Iterable<CsvRow>,
  chunkKeys: number = MATCH_CHUNK_KEYS,
): AsyncGenerator<RowMatch[]> {
  const field = keyField(keyColumn);
  let pending: CsvRow[] = [];
  let keys = new Set<string | number>();
  for (const row of rows) {
    const key = normalizeKey(store, field, row.values[keyColumn] ?? '');
    if (typeof key !== 'object' && !keys.has(key)) {
      if (keys.size === chunkKeys) {
        yield await matchChunk(store, field, keyColumn, pending, keys);
        pending = [];
        keys = new Set();
      }
      keys.add(key);
    }
    pending.push(row);
  }
  if (pending.length > 0) yield await matchChunk(store, field, keyColumn, pending, keys);
}

/** A key (so a user) named by several CSV rows. */
export interface RepeatedKey {
  /** `username "alice"`, as the first of its rows spells it. */
  readonly key: string;
  /** The file lines of its rows, in order. */
  readonly lines: number[];
}

/**
 * The keys several rows share once trimmed and folded as matching compares them (so the same
 * user): each such row runs the script for that user again, which an admin should hear of
 * before the run rather than find in its results.
 */
export function repeatedKeys(store: StoreDriver, keyColumn: string, rows: readonly CsvRow[]): RepeatedKey[] {
  const field = keyField(keyColumn);
  const byKey = new Map<string | number, { key: string; lines: number[] }>();
  for (const row of rows) {
    const raw = row.values[keyColumn] ?? '';
    const key = normalizeKey(store, field, raw);
    if (typeof key === 'object') continue;
    const seen = byKey.get(key);
    if (seen) seen.lines.push(row.line);
    else byKey.set(key, { key: `${field.name} ${JSON.stringify(raw.trim())}`, lines: [row.line] });
  }
  return [...byKey.values()].filter((k) => k.lines.length > 1);
}

/** The user field a key column is matched against. */
function keyField(column: string, where = ''): UserField {
  const field = findUserField(column);
  if (field && (field.name === 'obj_id' || field.type === 'string')) return field;
  const allowed = USER_FIELDS.filter((f) => f.name === 'obj_id' || f.type === 'string').map((f) => f.name);
  throw new UsageError(
    `${where}column ${column} cannot be the key: match on a column named after one of the user fields ${allowed.join(', ')}`,
  );
}

/** The value compared in SQL, or why the row cannot match anything. */
function normalizeKey(
  store: StoreDriver,
  field: UserField,
  raw: string,
): string | number | { reason: string } {
  const value = raw.trim();
  if (value === '') return { reason: `empty ${field.name}` };
  if (field.type === 'integer') {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    return Number.isSafeInteger(n)
      ? n
      : { reason: `${field.name} ${JSON.stringify(value)} is not a whole number` };
  }
  return store.capabilities.foldText(value);
}

async function matchChunk(
  store: StoreDriver,
  field: UserField,
  keyColumn: string,
  rows: readonly CsvRow[],
  keys: ReadonlySet<string | number>,
): Promise<RowMatch[]> {
  // field.name comes from the field catalog, never from the file, so it is safe in SQL text.
  const { capabilities } = store;
  const column = field.type === 'integer' ? field.name : capabilities.lowerColumn('users', field.name);
  const found = new Map<string | number, number[]>();
  if (keys.size > 0) {
    const placeholders = Array.from(keys, () => '?').join(', ');
    const users = await store.query<{ obj_id: number; k: string | number }>(
      `SELECT obj_id, ${field.name} AS k FROM users WHERE ${column} IN (${placeholders}) ORDER BY obj_id`,
      [...keys],
    );
    for (const user of users) {
      const key = typeof user.k === 'string' ? capabilities.foldText(user.k) : user.k;
      const ids = found.get(key);
      if (ids) ids.push(user.obj_id);
      else found.set(key, [user.obj_id]);
    }
  }
  return rows.map(({ line, values }): RowMatch => {
    const raw = values[keyColumn] ?? '';
    const key = normalizeKey(store, field, raw);
    if (typeof key === 'object') return { line, values, status: 'not_found', reason: key.reason };
    const ids = found.get(key) ?? [];
    const [only] = ids;
    if (only !== undefined && ids.length === 1) return { line, values, status: 'matched', userId: only };
    const shown = `${field.name} ${JSON.stringify(raw.trim())}`;
    if (only === undefined) return { line, values, status: 'not_found', reason: `no user with ${shown}` };
    return {
      line,
      values,
      status: 'ambiguous',
      userIds: ids,
      reason: `${ids.length} users have ${shown} (obj_id ${ids.join(', ')})`,
    };
  });
}
