import type { SqlStatement } from '../store/driver.js';
import type { ItemResult } from '../model/item-result.js';
import { userById, userByName, type OwnerRef } from '../store/change-statements.js';

/** True when the item's changes create its user (an import): its id exists only once they ran. */
export function createsUser(item: Pick<ItemResult, 'changes'>): boolean {
  return item.changes.some((c) => c.kind === 'user' && c.after !== null && c.before === null);
}

/**
 * The journal rows of one item: its `run_items` row and one `run_changes` row per change. Pure.
 * An item that created its user records the new id by the user's (unique) username, in the same
 * unit right after the insert, so undo finds the row by id like any other.
 */
export function itemStatements(runId: number, item: ItemResult, nowIso: string): SqlStatement[] {
  const user: OwnerRef =
    item.user_id !== null
      ? userById(item.user_id)
      : item.username !== null && createsUser(item)
        ? userByName(item.username)
        : { sql: '?', params: [null] };
  const statements: SqlStatement[] = [
    {
      sql: `INSERT INTO run_items (run_id, seq, user_id, username, profile, row_json, status, error, logs, notes, finished_at)
            VALUES (?, ?, ${user.sql}, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    },
  ];
  if (item.changes.length > 0) {
    // One multi-row INSERT: the journal is on the hot path of every changed user. A profile's
    // item has no user: its rows' user_id is null (migration 0005). BEFORE is a reserved word in
    // MySQL: quoted the standard way (MySQL sessions run with ANSI_QUOTES).
    const rows = item.changes.map(() => `(?, ?, ?, ${user.sql}, ?, ?, ?, ?)`).join(', ');
    statements.push({
      sql: `INSERT INTO run_changes (run_id, seq, n, user_id, kind, target, "before", "after") VALUES ${rows}`,
      params: item.changes.flatMap((c, n) => [
        runId,
        item.seq,
        n,
        ...user.params,
        c.kind,
        c.target,
        c.before === null ? null : JSON.stringify(c.before),
        c.after === null ? null : JSON.stringify(c.after),
      ]),
    });
  }
  return statements;
}
