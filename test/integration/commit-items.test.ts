import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRun } from '../../src/journal/run-record.js';
import { emptyCounts, type ItemResult } from '../../src/model/item-result.js';
import { BARRIER, commitItems, type PlannedItem, type PlannedSource } from '../../src/run/commit-items.js';
import { RunControl } from '../../src/run/run-control.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { loadUsers, type StoredUser } from '../../src/store/load-users.js';
import { migrateStore, openStore } from '../../src/store/using-store.js';
import { usingWriter, writeAll, type Writer } from '../../src/store/writer.js';
import { tempDir } from '../helpers/cli.js';
import { dumpDb, sqlite } from '../helpers/dump.js';

/**
 * The one commit path (src/run/commit-items.ts) on a real SQLite file: units in savepoints,
 * groups, the journal and the run's counts in the same transaction, and the version guard.
 * The items come from a plain list (the sandbox is tested elsewhere); the database is real.
 */

const tmp = tempDir('usrun-commit-items-');
let path: string;
let store: StoreDriver;
let n = 0;

beforeEach(async () => {
  path = join(tmp.dir, `c${n++}.db`);
  store = await openStore({ location: path, create: true });
  await migrateStore(store);
  const users = Array.from({ length: 6 }, (_, i) => `(${i + 1}, 'u${i + 1}', 1)`).join(', ');
  await writeAll(store, [
    { sql: `INSERT INTO users (obj_id, username, is_active) VALUES ${users}`, params: [] },
  ]);
});
afterEach(async () => {
  await store.close();
});

/** Plans `email = e<id>` (or a username) for each user, from its state as read now. */
async function plan(id: number, change: { email?: string; username?: string }): Promise<PlannedItem> {
  const user = (await loadUsers(store, [id])).get(id) as StoredUser;
  const [field, after] = Object.entries(change)[0] as [string, string];
  const result: ItemResult = {
    seq: id,
    user_id: id,
    username: `u${id}`,
    row: null,
    line: null,
    status: 'changed',
    changes: [{ kind: 'field', target: field, before: user.fields[field] ?? null, after }],
    logs: [],
    error: null,
  };
  return { result, user };
}

/** A source over a fixed list, whose `ready` the test controls. */
function listSource(
  items: (PlannedItem | typeof BARRIER)[],
  options: { ready?: boolean; replan?: PlannedSource['replan'] } = {},
): PlannedSource & { replans: number } {
  const source = {
    replans: 0,
    ready: options.ready ?? true,
    next: async () => items.shift() ?? null,
    replan: async (item: PlannedItem) => {
      source.replans += 1;
      if (!options.replan) throw new Error('unexpected replan');
      return options.replan(item);
    },
  };
  return source;
}

async function commitAll(
  source: PlannedSource,
  options: {
    groupSize?: number;
    groupMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    maxTries?: number;
    onResult?: (r: ItemResult) => void;
    /** A dry run: no journal, everything rolled back at the end. */
    rehearsal?: boolean;
    /** Called on the writer once every item is through, before it closes. */
    inside?: (writer: Writer) => Promise<void>;
  } = {},
): Promise<{ results: ItemResult[]; runId: number }> {
  const { onResult, rehearsal = false, inside, ...commitOptions } = options;
  const counts = emptyCounts();
  let runId = 0;
  const results: ItemResult[] = [];
  await usingWriter(store, { rehearsal }, async (writer) => {
    const items = commitItems({
      writers: [writer],
      capabilities: store.capabilities,
      source,
      control: new RunControl(),
      counts,
      begin: async () => {
        if (rehearsal) return null;
        runId = await startRun(
          store,
          { kind: 'run', scriptPath: 't.js', scriptText: '', selection: {}, params: {} },
          emptyCounts(),
        );
        return runId;
      },
      ...commitOptions,
    });
    for await (const r of items) {
      results.push(r);
      onResult?.(r);
    }
    await inside?.(writer);
  });
  return { results, runId };
}

const emails = () =>
  sqlite<{ obj_id: number; email: string | null }>(path, 'SELECT obj_id, email FROM users');

describe('group commit', () => {
  it('a unit that fails in the middle of a group rolls back alone; the rest of the group commits', async () => {
    const items = [
      await plan(1, { email: 'e1' }),
      await plan(2, { email: 'e2' }),
      await plan(3, { username: 'u1' }), // taken: the database refuses it
      await plan(4, { email: 'e4' }),
    ];
    const { results, runId } = await commitAll(listSource(items));
    expect(results.map((r) => r.status)).toEqual(['changed', 'changed', 'failed', 'changed']);
    expect(results[2]?.error?.message).toContain('username already taken');
    expect(emails().slice(0, 4)).toEqual([
      { obj_id: 1, email: 'e1' },
      { obj_id: 2, email: 'e2' },
      { obj_id: 3, email: null },
      { obj_id: 4, email: 'e4' },
    ]);
    expect(sqlite(path, 'SELECT username FROM users WHERE obj_id = 3')).toEqual([{ username: 'u3' }]);
    // The failed item is journaled too; its change is not.
    expect(sqlite(path, 'SELECT seq, status FROM run_items WHERE run_id = ? ORDER BY seq', [runId])).toEqual([
      { seq: 1, status: 'changed' },
      { seq: 2, status: 'changed' },
      { seq: 3, status: 'failed' },
      { seq: 4, status: 'changed' },
    ]);
    expect(
      sqlite(path, 'SELECT DISTINCT seq FROM run_changes WHERE run_id = ? ORDER BY seq', [runId]),
    ).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 4 }]);
    const counts = JSON.parse(sqlite<{ counts: string }>(path, 'SELECT counts FROM runs')[0]?.counts ?? '{}');
    expect(counts).toMatchObject({ selected: 4, changed: 3, failed: 1 });
  });

  it('commits after groupSize items, after groupMs (injected clock), and when nothing comes for the rest of groupMs', async () => {
    // What another connection sees committed as each result comes out (results are yielded once
    // their group has committed).
    const committedAt = (prefix: string, source: PlannedSource, options = {}) => {
      const seen: number[] = [];
      return commitAll(source, {
        ...options,
        onResult: () =>
          seen.push(
            sqlite<{ n: number }>(path, `SELECT count(*) AS n FROM users WHERE email LIKE '${prefix}%'`)[0]
              ?.n ?? -1,
          ),
      }).then(() => seen);
    };
    const planAll = (prefix: string, ids: number[]) =>
      Promise.all(ids.map((id) => plan(id, { email: `${prefix}${id}` })));

    // Count: groups of 2.
    expect(await committedAt('s', listSource(await planAll('s', [1, 2, 3, 4, 5])), { groupSize: 2 })).toEqual(
      [2, 2, 4, 4, 5],
    );

    // Time: the clock moves 150 ms per item taken; a group found older than 200 ms when the next
    // item is due commits first (items 1–3: 150, 300, 450 ms), then the rest at the end.
    let clock = 0;
    const timed = listSource(await planAll('t', [1, 2, 3, 4, 5]));
    const next = timed.next;
    timed.next = async () => {
      clock += 150;
      return next();
    };
    expect(await committedAt('t', timed, { groupMs: 200, now: () => clock })).toEqual([3, 3, 3, 5, 5]);

    // Nothing ready, and the next item takes longer than the group has left (the clock stands at
    // 0: 200 ms left): each item commits on its own, before its next one comes.
    const slow = listSource(await planAll('w', [1, 2, 3]), { ready: false });
    const take = slow.next;
    let release = () => {};
    let calls = 0;
    slow.next = () =>
      calls++ === 0 ? take() : new Promise((resolve) => (release = () => void take().then(resolve)));
    const slept: number[] = [];
    const timedOut = async (ms: number) => {
      slept.push(ms);
      // Once the group has committed, the item comes.
      setImmediate(() => release());
    };
    expect(await committedAt('w', slow, { now: () => 0, sleep: timedOut })).toEqual([1, 2, 3]);
    // (The third wait is for the end of the items.)
    expect(slept).toEqual([200, 200, 200]);

    // Nothing ready, but the next item comes within the group's time: one group.
    const quick = listSource(await planAll('q', [1, 2, 3]), { ready: false });
    const never = () => new Promise<void>(() => {});
    expect(await committedAt('q', quick, { now: () => 0, sleep: never })).toEqual([3, 3, 3]);
  });

  it('a crash loses the open group only, and the journal agrees with the data', async () => {
    const items = await Promise.all([1, 2, 3, 4].map((id) => plan(id, { email: `k${id}` })));
    // Groups of two: the first commits… then the process "dies" with the second open.
    let yielded = 0;
    const crashing = commitAll(listSource(items), {
      groupSize: 2,
      onResult: () => {
        if (++yielded === 2) throw new Error('crash');
      },
    });
    await expect(crashing).rejects.toThrow('crash');
    const runId = sqlite<{ id: number }>(path, 'SELECT id FROM runs')[0]?.id;
    // Group 1 (users 1, 2) committed; group 2 (users 3, 4) had been applied but never committed.
    expect(
      emails()
        .slice(0, 4)
        .map((u) => u.email),
    ).toEqual(['k1', 'k2', null, null]);
    expect(sqlite(path, 'SELECT seq FROM run_items WHERE run_id = ? ORDER BY seq', [runId])).toEqual([
      { seq: 1 },
      { seq: 2 },
    ]);
    const stored = JSON.parse(sqlite<{ counts: string }>(path, 'SELECT counts FROM runs')[0]?.counts ?? '{}');
    expect(stored).toMatchObject({ selected: 2, changed: 2 });
  });

  it('a rehearsal takes the same path and writes nothing, journal included', async () => {
    const before = dumpDb(path);
    const items = [await plan(1, { email: 'r1' }), await plan(2, { username: 'u1' })];
    const { results } = await commitAll(listSource(items), {
      rehearsal: true,
      // Inside the rehearsal its own units are visible…
      inside: async (writer) =>
        expect(await writer.query('SELECT email FROM users WHERE obj_id = 1')).toEqual([{ email: 'r1' }]),
    });
    expect(results.map((r) => r.status)).toEqual(['changed', 'failed']);
    // …and afterwards nothing is left.
    expect(dumpDb(path)).toEqual(before);
  });
});

describe('other writers', () => {
  it('a user changed since it was read is planned again from its new state, then committed', async () => {
    const stale = await plan(2, { email: 'mine' });
    // Another connection (another tool) writes the user after it was read.
    const other = new BetterSqlite3(path);
    other.prepare("UPDATE users SET description = 'theirs' WHERE obj_id = 2").run();
    other.close();
    const source = listSource([stale], { replan: () => plan(2, { email: 'mine, again' }) });
    const { results } = await commitAll(source);
    expect(source.replans).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['changed']);
    expect(sqlite(path, 'SELECT email, description FROM users WHERE obj_id = 2')).toEqual([
      { email: 'mine, again', description: 'theirs' },
    ]);
  });

  it('every write to a user or its rows moves its version, whoever makes it', async () => {
    const version = () =>
      sqlite<{ version: number }>(path, 'SELECT version FROM users WHERE obj_id = 5')[0]?.version;
    const steps = [
      "UPDATE users SET klass = 'x' WHERE obj_id = 5",
      "INSERT INTO profiles (id, short_name) VALUES (9, 'p9')",
      'INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (5, 9, 1)',
      'UPDATE user_profiles SET priority = 2 WHERE user_id = 5',
      "INSERT INTO reply_attributes (user_id, attr, op, value) VALUES (5, 'A', '=', '1')",
      "UPDATE reply_attributes SET value = '2' WHERE user_id = 5",
      'DELETE FROM reply_attributes WHERE user_id = 5',
      "INSERT INTO check_attributes (user_id, attr, op, value) VALUES (5, 'B', '==', '1')",
      "INSERT INTO user_attrs (user_id, name, value, is_encrypted, created_at, updated_at) VALUES (5, 'n', '1', 0, 'x', 'x')",
      'DELETE FROM user_attrs WHERE user_id = 5',
      'DELETE FROM user_profiles WHERE user_id = 5',
    ];
    const seen = [version()];
    for (const step of steps) {
      sqlite(path, step);
      seen.push(version());
    }
    // The profile insert touches no user; every other step moves the version.
    const moved = seen.slice(1).map((v, i) => (v as number) > (seen[i] as number));
    expect(moved).toEqual(steps.map((s) => !s.startsWith('INSERT INTO profiles')));
  });

  it('fails an item whose user keeps changing, after the last try, with a message that says so', async () => {
    let read = 0;
    const changing = async (): Promise<PlannedItem> => {
      const item = await plan(3, { email: `try${read++}` });
      sqlite(path, `UPDATE users SET description = 'moved ${read}' WHERE obj_id = 3`);
      return item;
    };
    const source = listSource([await changing()], { replan: changing });
    const { results, runId } = await commitAll(source, { maxTries: 3 });
    expect(source.replans).toBe(2);
    expect(results[0]?.status).toBe('failed');
    expect(results[0]?.error?.message).toMatch(/someone else changed this user.*3 tries/);
    expect(sqlite(path, 'SELECT email FROM users WHERE obj_id = 3')).toEqual([{ email: null }]);
    expect(sqlite(path, 'SELECT status FROM run_items WHERE run_id = ?', [runId])).toEqual([
      { status: 'failed' },
    ]);
  });
});
