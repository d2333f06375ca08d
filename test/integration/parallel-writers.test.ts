import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { usingWriters } from '../../src/store/writer.js';
import { tempDir } from '../helpers/cli.js';
import { dataInAnyCommitOrder, dbCount, dbQuery, withDb } from '../helpers/db.js';
import { dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { writeFile } from '../helpers/run-fixtures.js';

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
});
