import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyCounts, type ItemResult } from '../../src/model/item-result.js';
import { RunControl } from '../../src/run/run-control.js';
import { runScript } from '../../src/run/run-script.js';
import { usingSandbox } from '../../src/sandbox/using-sandbox.js';
import { pickItems } from '../../src/select/pick-items.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { usingStore } from '../../src/store/using-store.js';
import { usingWriter } from '../../src/store/writer.js';
import { tempDir } from '../helpers/cli.js';
import { sqlite } from '../helpers/dump.js';
import { usrun } from '../helpers/in-process.js';
import { writeFile } from '../helpers/run-fixtures.js';

/** The run engine through the command functions (in this process) on real SQLite files. */

const tmp = tempDir('usrun-run-engine-');
afterAll(() => tmp.cleanup());
let n = 0;

async function demoDb(users: number): Promise<string> {
  const db = join(tmp.dir, `e${n++}.db`);
  const r = await usrun(['init', '--db', db, '--demo', String(users)]);
  expect(r.code, r.stderr).toBe(0);
  return db;
}

describe('--max-errors, then --resume', () => {
  it('the resumed run finishes `completed`, counting only its own failures against the limit', async () => {
    const db = await demoDb(40);
    // Users 3 and 5 fail: the run stops at the second. Their failures are journaled, so the
    // resume skips them and runs the other 35 — with no failure of its own, it completes.
    const script = writeFile(
      tmp.dir,
      'flaky.js',
      "if (user.obj_id === 3 || user.obj_id === 5) throw new Error('not this one');\nuser.description = 'done';\n",
    );
    const first = await usrun(['run', script, '--all', '--db', db, '--max-errors', '2']);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/^run 1 stopped: 5 selected, 3 changed, .* 2 failed/m);
    expect(first.stderr).toContain('usrun run --resume 1');
    expect(sqlite(db, 'SELECT status FROM runs WHERE id = 1')).toEqual([{ status: 'stopped' }]);

    const resumed = await usrun(['run', '--resume', '1', '--db', db, '--max-errors', '2']);
    expect(resumed.stderr).not.toContain('--max-errors');
    expect(resumed.code).toBe(1); // the run as a whole still has its two failed users
    expect(sqlite(db, 'SELECT status FROM runs WHERE id = 1')).toEqual([{ status: 'completed' }]);
    expect(sqlite(db, 'SELECT count(*) AS n FROM run_items WHERE run_id = 1')).toEqual([{ n: 40 }]);
    expect(resumed.stdout).toMatch(/^run 1 completed: 40 selected, 38 changed, .* 2 failed/m);
  });
});

type Reader = Parameters<typeof runScript>[0]['reader'];

/**
 * Runs `source` over the users `selection` picks, through runScript with the real sandbox and
 * a real writer, loading users through `wrap(store)` (a reader that watches or interferes).
 */
async function runWith(
  db: string,
  source: string,
  selection: Parameters<typeof pickItems>[1],
  wrap: (store: StoreDriver) => Reader,
): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  await usingStore({ location: db }, async (store) => {
    const catalog = await store.db.selectFrom('profiles').select(['id', 'short_name', 'name']).execute();
    const picked = await pickItems(store, selection);
    const setup = {
      source,
      filename: 'e.js',
      params: {},
      profiles: catalog,
      timeoutMs: 2000,
      memoryMb: 64,
      maxLogLines: 10,
    };
    await usingSandbox(setup, (sandbox) =>
      usingWriter(store, { rehearsal: false }, async (writer) => {
        for await (const r of runScript({
          writers: [writer],
          reader: wrap(store),
          capabilities: store.capabilities,
          sandbox,
          pages: picked.pages,
          profiles: new Map(catalog.map((p) => [p.id, p])),
          cipher: null,
          checkFirst: () => undefined,
          begin: async () => null,
          control: new RunControl(),
          counts: emptyCounts(),
        }))
          results.push(r);
      }),
    );
  });
  return results;
}

describe('a user changed by another connection while its script runs', () => {
  it('is run again on its new state; the others are not', async () => {
    const db = await demoDb(5);
    let touched = false;
    // The reader the run loads users with: right after it has read user 3's rows (attrs are
    // read last), another connection changes user 3 — while the script runs on the old state.
    const results = await runWith(
      db,
      "user.email = (user.description ?? 'none') + '@run.example';\n",
      { all: true },
      (store) => ({
        query: async <T>(sql: string, params?: readonly (string | number | boolean | null)[]) => {
          const rows = await store.query<T>(sql, params);
          if (!touched && sql.includes('FROM user_attrs') && params?.includes(3)) {
            touched = true;
            const other = new BetterSqlite3(db);
            other.prepare("UPDATE users SET description = 'changed elsewhere' WHERE obj_id = 3").run();
            other.close();
          }
          return rows;
        },
      }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('changed'));
    // User 3's script ran again and saw the other connection's description; both writes stand.
    expect(sqlite(db, 'SELECT email, description FROM users WHERE obj_id = 3')).toEqual([
      { email: 'changed elsewhere@run.example', description: 'changed elsewhere' },
    ]);
    const emails = sqlite<{ email: string }>(db, 'SELECT email FROM users WHERE obj_id <> 3 ORDER BY obj_id');
    for (const { email } of emails) expect(email).not.toContain('changed elsewhere');
  });
});

describe('users are read once', () => {
  it('a filtered run loads its users without reading their rows again', async () => {
    const db = await demoDb(30);
    const reads: string[] = [];
    const results = await runWith(
      db,
      "user.description = 'seen';\n",
      { filter: 'obj_id le 20' },
      (store) => ({
        query: async <T>(sql: string, params?: readonly (string | number | boolean | null)[]) => {
          reads.push(sql);
          return store.query<T>(sql, params);
        },
      }),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill('changed'));
    // The run did load through this reader (memberships, rows, attrs) — but never the users rows,
    // which the selection's pages had already read.
    expect(reads.some((sql) => /FROM user_attrs/.test(sql))).toBe(true);
    expect(reads.filter((sql) => /FROM users\b/.test(sql))).toEqual([]);
  });
});
