import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startRun } from '../../src/journal/run-record.js';
import { emptyCounts } from '../../src/model/item-result.js';
import { commitItems, type PlannedItem } from '../../src/run/commit-items.js';
import { RunControl } from '../../src/run/run-control.js';
import { StaleRowError, usingWriter, usingWriters } from '../../src/store/writer.js';
import { tempDir } from '../helpers/cli.js';
import { dataInAnyCommitOrder, dbCount, dbQuery, withDb } from '../helpers/db.js';
import { dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { plannedFieldChange, writeFile } from '../helpers/run-fixtures.js';

/**
 * `--concurrency`: on PostgreSQL and MariaDB/MySQL a run commits groups on several connections at
 * once. Each group holds its users' row locks until it commits, so two open groups must not wait
 * for each other over rows they do not share (InnoDB's gap locks under REPEATABLE READ would
 * make them), and several lanes must leave the data and journal a single lane leaves.
 */

const tmp = tempDir('usrun-parallel-');
const SEEDED = new Date('2026-12-01T00:00:00Z');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

describe.each(['postgres', 'mysql'] as const)('%s: groups on several connections', (dialect) => {
  it('two open groups do not wait for each other on neighbouring users’ rows', async () => {
    const db = await testStore(dialect, { demo: 20 });
    await withDb(db, (store) =>
      usingWriters(store, { rehearsal: false, count: 2 }, async (writers) => {
        expect(writers).toHaveLength(2);
        const [a, b] = writers as [(typeof writers)[0], (typeof writers)[0]];
        // Group a removes an attribute user 5 does not have: under REPEATABLE READ, InnoDB locks
        // the index gap where it would be, up to user 6's first row.
        await a.unit([
          { sql: "DELETE FROM reply_attributes WHERE user_id = ? AND attr = 'Zz-Absent'", params: [5] },
        ]);
        // Group b, still open beside it, adds one to user 5 in that gap.
        const inserted = b.unit([
          {
            sql: "INSERT INTO reply_attributes (user_id, attr, op, value) VALUES (?, 'Zz-Absent', ':=', 'b')",
            params: [5],
          },
        ]);
        const waited = await Promise.race([inserted.then(() => false), sleep(3000).then(() => true)]);
        // Let a blocked insert finish before checking, whatever happened.
        await a.commit();
        await inserted;
        await b.commit();
        expect(waited).toBe(false);
      }),
    );
    expect(await dbCount(db, "SELECT count(*) AS n FROM reply_attributes WHERE attr = 'Zz-Absent'")).toBe(1);
  }, 60_000);

  it('a run on four connections leaves the data and journal of a run on one', async () => {
    // Neighbouring users' rows removed and added at once: reply attributes, profiles, attrs.
    const script = writeFile(
      tmp.dir,
      `churn-${dialect}.js`,
      `const timeouts = user.attributes.filter((a) => a.attr === 'Session-Timeout');
if (timeouts.length > 0) for (const a of timeouts) user.attribute_remove(a.attr, a.value);
else user.attribute_add('Session-Timeout', 600 + user.obj_id, ':=');
if (user.profiles.some((p) => p.short_name === 'gold')) user.profile_remove('gold');
else user.profile_add('gold');
user.attr.set('churn', { id: user.obj_id });
user.description = 'churned ' + user.obj_id;
user.last_update = '2030-01-01T00:00:00.000Z';
`,
    );
    const one = await testStore(dialect, { demo: 1500, now: SEEDED });
    const four = await testStore(dialect, { demo: 1500, now: SEEDED });
    const results = [];
    for (const [db, lanes] of [
      [one, '1'],
      [four, '4'],
    ] as const) {
      const r = await usrun(['run', script, '--db', db, '--all', '--yes', '--json', '--concurrency', lanes]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      results.push(r);
    }
    expect(await dataInAnyCommitOrder(four)).toEqual(await dataInAnyCommitOrder(one));
    // Every item journaled once, with its changes, whatever lane committed it.
    const journal = (location: string) =>
      dbQuery(
        location,
        `SELECT i.seq, i.user_id, i.status, count(c.n) AS changes
         FROM run_items i LEFT JOIN run_changes c ON c.run_id = i.run_id AND c.seq = i.seq
         GROUP BY i.seq, i.user_id, i.status ORDER BY i.seq`,
      );
    const rows = await journal(four);
    expect(rows).toHaveLength(1500);
    expect(rows.map((r) => Number(r['changes']))).toEqual(
      (await journal(one)).map((r) => Number(r['changes'])),
    );
    expect(rows.every((r) => r['status'] === 'changed')).toBe(true);
    // And undone, from the journal of the four lanes, the data is as seeded.
    const fresh = await testStore(dialect, { demo: 1500, now: SEEDED });
    const undo = await usrun(['runs', 'undo', '1', '--db', four, '--yes']);
    expect(undo.code).toBe(0);
    expect(await dataInAnyCommitOrder(four)).toEqual(await dataInAnyCommitOrder(fresh));
  }, 180_000);
  it('a lane that stops on an error rolls its group back at once: a lane waiting at one remove on its rows is not left waiting', async () => {
    // Another worker's open group (here: outside) holds user 2 and waits for user 1, which lane P's
    // group holds; lane Q waits for user 2. P's group then fails (a shared run's lost chunk). Left
    // open until every lane settled, P's rows kept outside waiting, so Q too, and Q kept P's group
    // open: the run hung (PostgreSQL: for ever; here outside gives up after its lock timeout).
    const db = await testStore(dialect, { demo: 2 });
    await withDb(db, async (store) => {
      const [one, two] = (
        await store.query<{ obj_id: number }>('SELECT obj_id FROM users ORDER BY obj_id')
      ).map((r) => Number(r.obj_id)) as [number, number];
      const planned = (id: number, seq: number): Promise<PlannedItem> =>
        plannedFieldChange(store, id, seq, 'email', `lane${seq}@x.net`);
      const items = [await planned(one, 1), await planned(two, 2)];
      const waiting = async (): Promise<number> =>
        (
          await store.query<{ n: number }>(
            dialect === 'postgres'
              ? "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
              : "SELECT count(*) AS n FROM information_schema.processlist WHERE db = database() AND state = 'Updating' AND info LIKE 'UPDATE users %'",
          )
        ).map((r) => Number(r.n))[0] ?? 0;
      const until = async (n: number): Promise<void> => {
        for (let i = 0; i < 500 && (await waiting()) < n; i++) await sleep(10);
      };
      await usingWriter(store, { rehearsal: false }, async (outside) => {
        await outside.query(
          dialect === 'postgres' ? "SET lock_timeout = '8s'" : 'SET SESSION innodb_lock_wait_timeout = 8',
        );
        let outsideWait: Promise<unknown> = Promise.resolve();
        let pulls = 0;
        const source = {
          ready: true,
          next: async () => {
            pulls += 1;
            if (pulls === 1) return items[0] as PlannedItem; // lane P: user 1
            if (pulls === 2) {
              await sleep(300); // P has applied its unit: user 1 is locked
              await outside.unit([
                { sql: 'UPDATE users SET email = ? WHERE obj_id = ?', params: ['o@x.net', two] },
              ]);
              outsideWait = outside
                .unit([{ sql: 'UPDATE users SET email = ? WHERE obj_id = ?', params: ['o@x.net', one] }])
                .then(
                  () => outside.commit(),
                  async (error: unknown) => {
                    await outside.rollback();
                    throw error;
                  },
                );
              outsideWait.catch(() => undefined);
              await until(1);
              return items[1] as PlannedItem; // lane Q: user 2, held by outside
            }
            await until(2); // Q waits too; then P's group ends and fails
            return null;
          },
          replan: () => Promise.reject(new Error('unexpected replan')),
        };
        const started = Date.now();
        const error = await usingWriters(store, { rehearsal: false, count: 2 }, async (writers) => {
          for await (const r of commitItems({
            writers,
            capabilities: store.capabilities,
            source,
            control: new RunControl(),
            counts: emptyCounts(),
            groupMs: 60_000,
            begin: () =>
              startRun(
                store,
                { kind: 'run', scriptPath: 'x.js', scriptText: '', selection: { all: true }, params: {} },
                emptyCounts(),
              ),
            // A group's proof that fails, as a lost chunk's does.
            groupStatements: () => [
              { sql: 'UPDATE runs SET counts = counts WHERE id = ?', params: [-1], expectRows: 1 },
            ],
          })) {
            void r;
          }
        }).catch((e: unknown) => e);
        const seconds = (Date.now() - started) / 1000;
        expect(error).toBeInstanceOf(StaleRowError);
        // Outside got user 1 once P's group rolled back, without waiting for its lock timeout.
        await expect(outsideWait).resolves.toBeUndefined();
        expect(seconds).toBeLessThan(5);
      });
      expect(await dbCount(db, "SELECT count(*) AS n FROM users WHERE email = 'o@x.net'")).toBe(2);
      expect(await dbCount(db, 'SELECT count(*) AS n FROM run_items')).toBe(0);
    });
  }, 60_000);
});
