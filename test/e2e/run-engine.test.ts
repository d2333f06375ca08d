import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyCounts, type ItemResult } from '../../src/model/item-result.js';
import { RunControl } from '../../src/run/run-control.js';
import { runScript } from '../../src/run/run-script.js';
import { usingSandbox } from '../../src/sandbox/using-sandbox.js';
import { pickItems } from '../../src/select/pick-items.js';
import { USER_FIELDS } from '../../src/store/user-fields.js';
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

describe('a user changed by another connection while its script runs', () => {
  it('is run again on its new state; the others are not', async () => {
    const db = await demoDb(5);
    const source = "user.email = (user.description ?? 'none') + '@run.example';\n";
    const results: ItemResult[] = [];
    await usingStore({ location: db }, async (store) => {
      const catalog = await store.db.selectFrom('profiles').select(['id', 'short_name', 'name']).execute();
      const picked = await pickItems(store, { all: true });
      let touched = false;
      // The reader the run loads users with: right after it has read user 3's rows (attrs are
      // read last), another connection changes user 3 — while the script runs on the old state.
      const reader = {
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
      };
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
            reader,
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
  it('a filtered run does not read a page of users a second time', async () => {
    const db = await demoDb(30);
    let userReads = 0;
    await usingStore({ location: db }, async (store) => {
      const picked = await pickItems(store, { filter: 'obj_id le 20' });
      const reader = {
        query: async <T>(sql: string, params?: readonly (string | number | boolean | null)[]) => {
          if (/FROM users\b/.test(sql)) userReads += 1;
          return store.query<T>(sql, params);
        },
      };
      const { loadUsers } = await import('../../src/store/load-users.js');
      for await (const page of picked.pages) {
        const rows = new Map(page.map((i) => [i.userId as number, i.userRow as Record<string, unknown>]));
        const users = await loadUsers(reader, [...rows.keys()], rows);
        expect(users.size).toBe(page.length);
        expect([...users.values()][0]?.fields).toHaveProperty(USER_FIELDS[0]?.name as string);
      }
    });
    expect(userReads).toBe(0);
  });
});
