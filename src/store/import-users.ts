import { UsageError } from '../errors.js';
import type { CsvTable } from '../model/csv-table.js';
import type { SqlValue, StoreDriver } from './driver.js';
import { findUserField, USER_FIELDS, type UserField } from './user-fields.js';

/** What an import did (or, with `dryRun`, would do). */
export interface ImportResult {
  inserted: number;
  updated: number;
  unchanged: number;
}

/** Read-only to scripts, but an import from another system may carry them. */
const IMPORT_ONLY = new Set(['date_joined', 'first_login', 'last_login', 'organization_id']);

/** Every user field an import may set: all but `obj_id`. */
export const IMPORT_FIELDS: readonly UserField[] = USER_FIELDS.filter(
  (f) => f.writable || IMPORT_ONLY.has(f.name),
);

const LOOKUP_CHUNK = 500;

type ExistingUser = Record<string, SqlValue> & { obj_id: number; username: string };

/** Users already in the store by exact username, and by username up to ASCII case. */
interface Existing {
  exact: Map<string, ExistingUser>;
  byFolded: Map<string, ExistingUser>;
}

/** One valid CSV row: the user it is about and its parsed cells. */
export interface PlannedRow {
  line: number;
  username: string;
  /** Parsed cells by field name, in the table's column order (booleans as 1/0). */
  values: Map<string, SqlValue>;
  /** The row as read, for the journal. */
  cells: Record<string, string>;
}

/** A checked CSV file: every row valid, and the id of each username already in the store. */
export interface UsersImportPlan {
  file: string;
  /** The user fields the file sets, in column order. */
  fields: string[];
  rows: PlannedRow[];
  /** obj_id by username, for the rows about existing users. */
  existing: Map<string, number>;
}

/**
 * Checks a CSV table whose columns are user fields (any case; all but `obj_id`) for an upsert by
 * `username`. Cells are trimmed; an empty cell is NULL. Every cell is validated and all problems
 * are reported together as one `UsageError`, before anything is written.
 *
 * A username matches an existing user exactly; one that differs from an existing user's only in
 * case is an error rather than a near-duplicate.
 */
export async function planUsersImport(store: StoreDriver, table: CsvTable): Promise<UsersImportPlan> {
  const fields = mapColumns(table);
  const { planned, errors } = parseRows(table, fields);
  const existing = await loadExisting(store, [...new Set(planned.map((row) => row.username))]);
  errors.push(...caseClashes(table.file, planned, existing, store.capabilities.foldText));
  if (errors.length > 0) {
    errors.sort((a, b) => lineOf(a) - lineOf(b));
    const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
    throw new UsageError(`${table.file}: ${count}, nothing was imported:\n${errors.join('\n')}`);
  }
  return {
    file: table.file,
    fields: [...fields.values()].map((f) => f.name),
    rows: planned,
    existing: new Map([...existing.exact].map(([name, user]) => [name, Number(user.obj_id)])),
  };
}

/** Every row's cells parsed and checked; rows with an error are left out of `planned`. */
function parseRows(
  table: CsvTable,
  fields: Map<string, UserField>,
): { planned: PlannedRow[]; errors: string[] } {
  const planned: PlannedRow[] = [];
  const errors: string[] = [];
  const firstLine = new Map<string, number>();
  for (const row of table.rows) {
    const values = new Map<string, SqlValue>();
    let rowOk = true;
    for (const [column, field] of fields) {
      const parsed = parseCell(field, row.values[column] ?? '');
      if (typeof parsed === 'object' && parsed !== null) {
        errors.push(`${table.file}:${row.line}: ${field.name}: ${parsed.error}`);
        rowOk = false;
      } else values.set(field.name, parsed);
    }
    const username = values.get('username');
    if (typeof username !== 'string') continue;
    const seen = firstLine.get(username);
    if (seen !== undefined) {
      errors.push(`${table.file}:${row.line}: username: ${JSON.stringify(username)} is also on line ${seen}`);
      continue;
    }
    firstLine.set(username, row.line);
    if (rowOk) planned.push({ line: row.line, username, values, cells: { ...row.values } });
  }
  return { planned, errors };
}

/** New usernames that differ only in case from an existing user or another new row. */
function caseClashes(
  file: string,
  planned: readonly PlannedRow[],
  existing: Existing,
  fold: (text: string) => string,
): string[] {
  const errors: string[] = [];
  const newByFolded = new Map<string, PlannedRow>();
  for (const row of planned) {
    if (existing.exact.has(row.username)) continue;
    const folded = fold(row.username);
    const user = existing.byFolded.get(folded);
    const earlier = newByFolded.get(folded);
    const clash = user
      ? `user ${JSON.stringify(user.username)} (obj_id ${user.obj_id})`
      : earlier && `${JSON.stringify(earlier.username)} on line ${earlier.line}`;
    if (clash) {
      errors.push(
        `${file}:${row.line}: username: ${JSON.stringify(row.username)} differs only in case from ${clash}`,
      );
    } else newByFolded.set(folded, row);
  }
  return errors;
}

/** The line number in a `file:line: message` error, for sorting. */
function lineOf(error: string): number {
  return Number(/:(\d+): /.exec(error)?.[1] ?? 0);
}

/** Header column → user field; unknown columns and `obj_id` are usage errors. */
function mapColumns(table: CsvTable): Map<string, UserField> {
  const fields = new Map<string, UserField>();
  const unknown: string[] = [];
  for (const column of table.columns) {
    const field = findUserField(column);
    if (field?.name === 'obj_id') {
      throw new UsageError(
        `${table.file}: column ${column}: obj_id is assigned by the database; users are imported by username, remove the column`,
      );
    }
    if (field && IMPORT_FIELDS.includes(field)) fields.set(column, field);
    else unknown.push(column);
  }
  if (unknown.length > 0) {
    const which = unknown.map((c) => JSON.stringify(c)).join(', ');
    throw new UsageError(
      `${table.file}: unknown column${unknown.length === 1 ? '' : 's'} ${which}; ` +
        `users import accepts ${IMPORT_FIELDS.map((f) => f.name).join(', ')}`,
    );
  }
  if (![...fields.values()].some((f) => f.name === 'username')) {
    throw new UsageError(
      `${table.file}: no username column; users import matches and creates users by username`,
    );
  }
  return fields;
}

/** Reads the users whose username equals a given one up to ASCII case, a chunk at a time. */
async function loadExisting(store: StoreDriver, usernames: readonly string[]): Promise<Existing> {
  const exact = new Map<string, ExistingUser>();
  const byFolded = new Map<string, ExistingUser>();
  const fold = store.capabilities.foldText;
  const folded = [...new Set(usernames.map(fold))];
  for (let i = 0; i < folded.length; i += LOOKUP_CHUNK) {
    const chunk = folded.slice(i, i + LOOKUP_CHUNK);
    const users = await store.query<ExistingUser>(
      `SELECT * FROM users WHERE ${store.capabilities.lowerColumn('users', 'username')} IN (${chunk.map(() => '?').join(', ')}) ORDER BY obj_id`,
      chunk,
    );
    for (const user of users) {
      exact.set(user.username, user);
      const key = fold(user.username);
      if (!byFolded.has(key)) byFolded.set(key, user);
    }
  }
  return { exact, byFolded };
}

/** A cell as the value to store, or why it cannot be. */
function parseCell(field: UserField, cell: string): SqlValue | { error: string } {
  const value = cell.trim();
  if (value === '') {
    if (field.nullable) return null;
    return { error: field.type === 'boolean' ? 'empty; use true or false' : 'required' };
  }
  switch (field.type) {
    case 'string': {
      const length = [...value].length;
      if (field.maxLength !== undefined && length > field.maxLength) {
        return { error: `longer than ${field.maxLength} characters (${length})` };
      }
      return value;
    }
    case 'integer': {
      const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
      return Number.isSafeInteger(n) ? n : { error: `not a whole number: ${JSON.stringify(value)}` };
    }
    case 'boolean': {
      const lower = value.toLowerCase();
      if (lower === 'true' || lower === 'yes' || lower === '1') return 1;
      if (lower === 'false' || lower === 'no' || lower === '0') return 0;
      return { error: `not a boolean: ${JSON.stringify(value)} (use true/false, yes/no or 1/0)` };
    }
    case 'timestamp': {
      const iso = parseTimestamp(value);
      return (
        iso ?? {
          error: `not a date: ${JSON.stringify(value)} (use YYYY-MM-DD or ISO-8601 like 2026-01-31T12:00:00Z)`,
        }
      );
    }
  }
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * `YYYY-MM-DD` (midnight UTC) or ISO-8601 date-time with `T` or a space; without a zone the
 * time is UTC, the zone everything is stored in. Impossible dates (Feb 30) are rejected.
 */
function parseTimestamp(text: string): string | null {
  const m = TIMESTAMP.exec(text);
  if (!m) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m
    .slice(1, 7)
    .map((x) => (x === undefined ? undefined : Number(x)));
  if (year === undefined || month === undefined || day === undefined) return null;
  const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return null;
  }
  const zone = m[8]?.toUpperCase();
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || '0');
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  return new Date(utc - offsetMinutes * 60_000).toISOString();
}
