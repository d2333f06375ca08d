import type { SqlStatement } from '../store/driver.js';
import type { ItemResult } from '../model/item-result.js';

/** The journal rows of one item: its `run_items` row and one `run_changes` row per change. Pure. */
export function itemStatements(runId: number, item: ItemResult, nowIso: string): SqlStatement[] {
  const statements: SqlStatement[] = [
    {
      sql: `INSERT INTO run_items (run_id, seq, user_id, username, row_json, status, error, logs, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      params: [
        runId,
        item.seq,
        item.user_id,
        item.username,
        item.row ? JSON.stringify({ line: item.line, values: item.row }) : null,
        item.status,
        item.error ? JSON.stringify(item.error) : null,
        item.logs.length > 0 ? JSON.stringify(item.logs) : null,
        nowIso,
      ],
    },
  ];
  if (item.changes.length > 0 && item.user_id !== null) {
    // One multi-row INSERT: the journal is on the hot path of every changed user. BEFORE is a
    // reserved word in MySQL: quoted the standard way (MySQL sessions run with ANSI_QUOTES).
    const rows = item.changes.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
    statements.push({
      sql: `INSERT INTO run_changes (run_id, seq, n, user_id, kind, target, "before", "after") VALUES ${rows}`,
      params: item.changes.flatMap((c, n) => [
        runId,
        item.seq,
        n,
        item.user_id,
        c.kind,
        c.target,
        c.before === null ? null : JSON.stringify(c.before),
        c.after === null ? null : JSON.stringify(c.after),
      ]),
    });
  }
  return statements;
}
