import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { startRun } from '../../src/journal/run-record.js';
import { emptyCounts, type ItemResult } from '../../src/model/item-result.js';
import { commitItems, type PlannedItem, type PlannedSource } from '../../src/run/commit-items.js';
import { RunControl } from '../../src/run/run-control.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { loadUsers, type StoredUser } from '../../src/store/load-users.js';
import { usingWriter } from '../../src/store/writer.js';
import { dbQuery, withDb } from '../helpers/db.js';
import { dropTestDbs, testStore } from '../helpers/dialects.js';

/**
 * A deadlock in InnoDB rolls back the whole transaction, not the statement: every earlier unit of
 * the open group is gone with it. The commit path must apply them again (and report nothing it
 * did not commit). Only MariaDB/MySQL do this (`groupLost` in their error classification);
 * PostgreSQL fails the statement and keeps the savepoints, which the other commit tests cover.
 */

afterAll(dropTestDbs);

async function plan(store: StoreDriver, id: number): Promise<PlannedItem> {
  const user = (await loadUsers(store, [id])).get(id) as StoredUser;
  const result: ItemResult = {
    seq: id,
    user_id: id,
    username: String(user.fields['username']),
    row: null,
    line: null,
    status: 'changed',
    changes: [
      { kind: 'field', target: 'description', before: user.fields['description'] ?? null, after: `d${id}` },
    ],
    logs: [],
    error: null,
  };
  return { result, user };
}

describe('mysql: a deadlock that rolls back the whole group', () => {
  it('applies the group again: every reported item is committed and journaled', async () => {
    const db = await testStore('mysql', { demo: 60 });
    const other = await mysql.createConnection(db);
    try {
      const results: ItemResult[] = [];
      await withDb(db, async (store) => {
        // Another session holds many users (so InnoDB picks our smaller transaction as the victim).
        await other.query('BEGIN');
        await other.query("UPDATE users SET first_name = 'other' WHERE obj_id BETWEEN 2 AND 60");
        const items = [await plan(store, 1), await plan(store, 2)];
        let handed = 0;
        const source: PlannedSource = {
          ready: true,
          next: async () => {
            if (handed === 1) {
              // Our group holds user 1: the other session now waits for it, and commits once it
              // has it (after the deadlock took our group away).
              void other
                .query("UPDATE users SET last_name = 'other' WHERE obj_id = 1")
                .then(() => other.query('COMMIT'));
              const waiting = async () =>
                Number(
                  (
                    await dbQuery<{ n: number }>(
                      db,
                      // This session's wait only: other test files share the server.
                      "SELECT count(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id = ?",
                      [other.threadId],
                    )
                  )[0]?.n,
                );
              while ((await waiting()) === 0) await new Promise((r) => setTimeout(r, 10));
            }
            return items[handed++] ?? null;
          },
          replan: (item) => plan(store, item.result.user_id as number),
        };
        const counts = emptyCounts();
        await usingWriter(store, { rehearsal: false }, async (writer) => {
          for await (const r of commitItems({
            writers: [writer],
            capabilities: store.capabilities,
            source,
            control: new RunControl(),
            begin: () =>
              startRun(
                store,
                { kind: 'run', scriptPath: 'x.js', scriptText: '', selection: { all: true }, params: {} },
                counts,
              ),
            counts,
            groupMs: 60_000,
          })) {
            results.push(r);
          }
        });
        expect(counts).toMatchObject({ selected: 2, changed: 2, failed: 0 });
      });
      expect(results.map((r) => [r.seq, r.status])).toEqual([
        [1, 'changed'],
        [2, 'changed'],
      ]);
      // Both users have our change and the other session's; both are journaled.
      expect(
        await dbQuery(
          db,
          'SELECT obj_id, description, first_name, last_name FROM users WHERE obj_id <= 2 ORDER BY obj_id',
        ),
      ).toEqual([
        expect.objectContaining({ obj_id: 1, description: 'd1', last_name: 'other' }),
        expect.objectContaining({ obj_id: 2, description: 'd2', first_name: 'other' }),
      ]);
      expect(await dbQuery(db, 'SELECT seq, status FROM run_items ORDER BY seq')).toEqual([
        { seq: 1, status: 'changed' },
        { seq: 2, status: 'changed' },
      ]);
    } finally {
      await other.end();
    }
  }, 120_000);
});
