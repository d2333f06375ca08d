import type { SqlStatement, SqlValue } from '../store/driver.js';
import type { ItemResult } from '../model/item-result.js';
import { userById, userByName, type OwnerRef } from '../store/change-statements.js';

/** True when the item's changes create its user (an import): its id exists only once they ran. */
export function createsUser(item: Pick<ItemResult, 'changes'>): boolean {
  return item.changes.some((c) => c.kind === 'user' && c.after !== null && c.before === null);
}

/** At most this many rows go into one INSERT (far below every dialect's limit on parameters). */
const MAX_ROWS = 256;

/** One row of a multi-row INSERT: its `(…)` text and its parameters. */
interface Row {
  sql: string;
  params: SqlValue[];
}

/**
 * `rows` as INSERTs of at most MAX_ROWS rows each, in pieces whose sizes are powers of two (a
 * group of 500 items is 256 + 128 + 64 + 32 + 16 + 4), so a run prepares a handful of distinct
 * statements, not one per group size.
 */
function insertRows(head: string, rows: readonly Row[]): SqlStatement[] {
  const statements: SqlStatement[] = [];
  for (let i = 0; i < rows.length;) {
    let size = MAX_ROWS;
    while (size > rows.length - i) size /= 2;
    const piece = rows.slice(i, i + size);
    const shape = piece[0]?.sql ?? '';
    statements.push({
      sql: piece.every((r) => r.sql === shape)
        ? sameRows(head, shape, size)
        : `${head} VALUES ${piece.map((r) => r.sql).join(', ')}`,
      params: piece.flatMap((r) => r.params),
    });
    i += size;
  }
  return statements;
}

const texts = new Map<string, string>();

/**
 * The text of an INSERT of `size` rows of one shape, built once: the same string each time, so
 * the driver's statement cache finds it without hashing ten kilobytes of SQL again.
 */
function sameRows(head: string, shape: string, size: number): string {
  const key = `${size} ${shape} ${head}`;
  let text = texts.get(key);
  if (text === undefined) {
    text = `${head} VALUES ${Array<string>(size).fill(shape).join(', ')}`;
    texts.set(key, text);
  }
  return text;
}

/**
 * The journal rows of a group of items: a `run_items` row each and one `run_changes` row per
 * change, as a few multi-row INSERTs (the journal is on the hot path of every user). Pure. They
 * go into the same transaction as the items' own changes, so the journal and the data commit
 * together. An item that created its user records the new id by the user's (unique) username,
 * so undo finds the row by id like any other. BEFORE is a reserved word in MySQL: quoted the
 * standard way (MySQL sessions run with ANSI_QUOTES).
 */
export function journalStatements(
  runId: number,
  items: readonly ItemResult[],
  nowIso: string,
): SqlStatement[] {
  const itemRows: Row[] = [];
  const changeRows: Row[] = [];
  for (const item of items) {
    const user: OwnerRef =
      item.user_id !== null
        ? userById(item.user_id)
        : item.username !== null && createsUser(item)
          ? userByName(item.username)
          : { sql: '?', params: [null] };
    itemRows.push({
      sql: `(?, ?, ${user.sql}, ?, ?, ?, ?, ?, ?, ?, ?)`,
      params: [
        runId,
        item.seq,
        ...user.params,
        item.username,
        item.profile ?? null,
        item.row ? JSON.stringify({ line: item.line, values: item.row }) : null,
        item.status,
        item.error ? JSON.stringify(item.error) : null,
        item.logs.length > 0 ? JSON.stringify(item.logs) : null,
        item.notes && item.notes.length > 0 ? JSON.stringify(item.notes) : null,
        nowIso,
      ],
    });
    // A profile's item has no user: its rows' user_id is null (migration 0005).
    item.changes.forEach((c, n) =>
      changeRows.push({
        sql: `(?, ?, ?, ${user.sql}, ?, ?, ?, ?)`,
        params: [
          runId,
          item.seq,
          n,
          ...user.params,
          c.kind,
          c.target,
          c.before === null ? null : JSON.stringify(c.before),
          c.after === null ? null : JSON.stringify(c.after),
        ],
      }),
    );
  }
  return [
    ...insertRows(
      'INSERT INTO run_items (run_id, seq, user_id, username, profile, row_json, status, error, logs, notes, finished_at)',
      itemRows,
    ),
    ...insertRows(
      'INSERT INTO run_changes (run_id, seq, n, user_id, kind, target, "before", "after")',
      changeRows,
    ),
  ];
}
