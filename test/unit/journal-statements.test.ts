import { describe, expect, it } from 'vitest';
import { journalStatements } from '../../src/journal/item-statements.js';
import type { ItemResult } from '../../src/model/item-result.js';

function item(seq: number, changes: number): ItemResult {
  return {
    seq,
    user_id: 1000 + seq,
    username: `u${seq}`,
    row: null,
    line: null,
    status: changes > 0 ? 'changed' : 'unchanged',
    changes: Array.from({ length: changes }, (_, n) => ({
      kind: 'field' as const,
      target: `f${n}`,
      before: n,
      after: n + 1,
    })),
    logs: [],
    error: null,
  };
}

describe("a group's journal rows", () => {
  it('are a few multi-row INSERTs in power-of-two pieces, every row once, in order', () => {
    const items = Array.from({ length: 500 }, (_, i) => item(i + 1, i % 3));
    const statements = journalStatements(7, items, 'now');
    const runItems = statements.filter((s) => s.sql.startsWith('INSERT INTO run_items'));
    const runChanges = statements.filter((s) => s.sql.startsWith('INSERT INTO run_changes'));
    const rows = (sql: string) => sql.split('), (').length;
    // 500 = 256 + 128 + 64 + 32 + 16 + 4: six statements, at most 256 rows each.
    expect(runItems.map((s) => rows(s.sql))).toEqual([256, 128, 64, 32, 16, 4]);
    // Every item's seq once, in order (11 values a row, the seq second).
    const seqs = runItems.flatMap((s) => s.params.filter((_, i) => i % 11 === 1));
    expect(seqs).toEqual(items.map((i) => i.seq));
    // One run_changes row per change (0 + 1 + 2 per three items), numbered per item.
    const changeCount = items.reduce((n, i) => n + i.changes.length, 0);
    expect(runChanges.reduce((n, s) => n + rows(s.sql), 0)).toBe(changeCount);
    const keys = runChanges.flatMap((s) =>
      s.params.flatMap((_, i) =>
        i % 8 === 0 ? [`${String(s.params[i + 1])}.${String(s.params[i + 2])}`] : [],
      ),
    );
    expect(keys).toEqual(items.flatMap((i) => i.changes.map((_, n) => `${i.seq}.${n}`)));
    expect(runChanges.every((s) => rows(s.sql) <= 256)).toBe(true);
  });

  it('is nothing for no items', () => {
    expect(journalStatements(1, [], 'now')).toEqual([]);
  });
});
