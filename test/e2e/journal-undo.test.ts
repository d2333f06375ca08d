import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli, tempDir } from '../helpers/cli.js';
import { dumpDb, sqlite } from '../helpers/dump.js';

/**
 * `usrun runs undo RUN_ID` (SPEC §5): restores the before values of a run user by user; a user
 * changed again since is a conflict unless --force; the undo is itself a run, so it can be undone.
 */

const tmp = tempDir('usrun-journal-undo-');
const template = join(tmp.dir, 'template.db');
afterAll(() => tmp.cleanup());

/** Touches every kind of data: fields, profiles, reply and check rows, attrs. */
const SCRIPT = `// undo test script
user.email = 'undo-' + user.obj_id + '@example.test';
user.is_active = !user.is_active;
user.expiration = '2031-01-01T00:00:00Z';
user.profile_add('gold');
user.profile_remove('aaa-01');
user.attribute_add('Session-Timeout', 3600, ':=');           // replaces every Session-Timeout row
user.attribute_add('Framed-Pool', 'pool-a');                 // '=': added when absent
user.attribute_remove('Idle-Timeout', 900);
user.check_attribute_add('Max-Daily-Session', 7200);         // '==': sets that row's value (or adds)
user.check_attribute_add('Simultaneous-Use', 1, ':=');
const expiration = user.check_attributes.find((a) => a.attr === 'Expiration');
if (expiration) user.check_attribute_remove('Expiration', expiration.value);
user.attr.set('plan', 'gold');                               // update, or create
user.attr.delete('notes');
user.attr.set('old', 'new');                                 // over an expired attr for user 2
`;
const scriptPath = join(tmp.dir, 'undo-all.js');

type Dump = Record<string, Record<string, unknown>[]>;

/**
 * The data tables, optionally seen the way RADIUS reads reply/check rows: `order` keeps each
 * user's rows in id order (FreeRADIUS reads radreply/radcheck ORDER BY id) without the ids,
 * `set` compares the rows as a multiset; `looseAttrTimes` drops user_attrs created/updated times.
 */
function view(
  db: string,
  options: { radius?: 'strict' | 'order' | 'set'; looseAttrTimes?: boolean } = {},
): Dump {
  const dump = dumpDb(db, { journal: false }) as Dump;
  for (const table of ['reply_attributes', 'check_attributes']) {
    const rows = dump[table] ?? [];
    if (options.radius === 'order') {
      dump[table] = [...rows]
        .sort(
          (a, b) =>
            (a['user_id'] as number) - (b['user_id'] as number) || (a['id'] as number) - (b['id'] as number),
        )
        .map(({ id: _id, ...r }) => r);
    } else if (options.radius === 'set') {
      dump[table] = rows
        .map(({ id: _id, ...r }) => r)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
  }
  if (options.looseAttrTimes)
    dump['user_attrs'] = (dump['user_attrs'] ?? []).map((a) => ({ ...a, created_at: '*', updated_at: '*' }));
  return dump;
}

function copyDb(from: string, name: string): string {
  sqlite(from, 'PRAGMA wal_checkpoint(TRUNCATE)');
  const to = join(tmp.dir, name);
  copyFileSync(from, to);
  return to;
}

const usrun = (args: string[], db: string) => runCli([...args, '--db', db], { cwd: tmp.dir });

async function realRun(db: string, args: string[]): Promise<void> {
  const r = await usrun(['run', ...args], db);
  // Nothing on stderr but the note on a user that several CSV rows name.
  expect(r.stderr.replace(/^\S+ "[^"]*" is in \d+ rows \(lines [\d, ]+\): .*\n/gm, '')).toBe('');
  expect(r.code).toBe(0);
}

beforeAll(async () => {
  const init = await runCli(['init', '--db', template]);
  expect(init.code).toBe(0);
  const sql = (q: string, p: unknown[] = []) => sqlite(template, q, p);
  sql(
    "INSERT INTO profiles (id, short_name, name) VALUES (1, 'aaa-01', 'A'), (2, 'gold', 'G'), (3, 'silver', 'S')",
  );
  sql(`INSERT INTO users (obj_id, username, email, is_active, last_update) VALUES
       (1, 'u1', 'u1@example.org', 1, '2025-01-01T00:00:00.000Z'),
       (2, 'u2', 'u2@example.org', 0, NULL),
       (3, 'u3', NULL, 1, '2025-02-02T00:00:00.000Z'),
       (4, 'u4', 'u4@example.org', 1, '2025-03-03T00:00:00.000Z'),
       (5, 'u5', 'u5@example.org', 1, '2025-04-04T00:00:00.000Z')`);
  sql(
    'INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (1, 1, 1), (1, 3, 2), (2, 1, 1), (3, 2, 1), (5, 1, 1)',
  );
  sql(`INSERT INTO reply_attributes (user_id, attr, op, value) VALUES
       (1, 'Session-Timeout', ':=', '100'), (1, 'Session-Timeout', '+=', '200'), (1, 'Idle-Timeout', '=', '900'),
       (2, 'Idle-Timeout', '=', '900'), (2, 'Reply-Message', '+=', 'hello'), (3, 'Framed-Pool', '=', 'p'),
       (5, 'Idle-Timeout', '=', '900')`);
  sql(`INSERT INTO check_attributes (user_id, attr, op, value) VALUES
       (1, 'Max-Daily-Session', '==', '14400'), (1, 'Expiration', ':=', 'Jan 1 2030'),
       (2, 'Simultaneous-Use', ':=', '3'), (3, 'Expiration', ':=', 'Dec 31 2029')`);
  sql(`INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at) VALUES
       (1, 'plan', '"silver"', 0, NULL, '2024-01-01T00:00:00.000Z', '2024-06-01T00:00:00.000Z'),
       (1, 'notes', '"call first"', 0, NULL, '2024-01-02T00:00:00.000Z', '2024-01-02T00:00:00.000Z'),
       (2, 'old', '"stale"', 0, '2020-01-01T00:00:00.000Z', '2019-01-01T00:00:00.000Z', '2019-01-01T00:00:00.000Z'),
       (3, 'plan', '"gold"', 0, '2099-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`);
  writeFileSync(scriptPath, SCRIPT);
});

describe('runs undo', () => {
  const db = join(tmp.dir, 'plain.db');
  let before: Dump;
  let afterRun: Dump;

  beforeAll(async () => {
    copyDb(template, 'plain.db');
    before = view(db);
    await realRun(db, [scriptPath, '--filter', 'obj_id le 4']);
    afterRun = view(db);
    // The run did change each kind of thing it is meant to.
    for (const table of ['users', 'user_profiles', 'reply_attributes', 'check_attributes', 'user_attrs']) {
      expect(afterRun[table], table).not.toEqual(before[table]);
    }
    expect(sqlite(db, "SELECT count(*) AS n FROM run_items WHERE status = 'changed'")).toEqual([{ n: 4 }]);
  });

  it('--dry-run prints what it would restore and writes nothing', async () => {
    const whole = dumpDb(db);
    const r = await usrun(['runs', 'undo', '1', '--dry-run'], db);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('email: "undo-1@example.test" → "u1@example.org"');
    expect(r.stdout).toContain('+ reply Idle-Timeout = 900');
    expect(r.stdout).toContain('+ profile aaa-01');
    expect(r.stdout).toMatch(/^dry run \(nothing written\): 4 selected, 4 would change/m);
    expect(dumpDb(db)).toEqual(whole);
  });

  it('restores the data exactly as it was before the run', async () => {
    const r = await usrun(['runs', 'undo', '1'], db);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^run 2 completed: 4 selected, 4 changed/m);
    // Every value is back (reply/check rows compared as a multiset) …
    expect(view(db, { radius: 'set' })).toEqual(view(template, { radius: 'set' }));
    // … and so are the rows themselves: a removed reply/check row comes back with its id, so
    // FreeRADIUS (ORDER BY id) sees u1's `Session-Timeout := 100` before `+= 200` again.
    expect(view(db, { radius: 'order' })).toEqual(view(template, { radius: 'order' }));
    expect(view(db)).toEqual(before);
  });

  it("is a run itself: listed, shown, and undoing it brings back the run's after state", async () => {
    const list = ndjson((await usrun(['runs', 'list', '--json'], db)).stdout);
    expect(list.map((r) => r['id'])).toEqual([2, 1]);
    expect(list[0]).toMatchObject({
      kind: 'undo',
      undo_of: 1,
      status: 'completed',
      counts: { selected: 4, changed: 4 },
    });
    const text = await usrun(['runs', 'list'], db);
    expect(text.stdout).toMatch(/^2\s.*undo of 1\s+completed/m);
    const show = await usrun(['runs', 'show', '2'], db);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^run 2 completed — undo of run 1/);
    expect(sqlite(db, "SELECT count(*) AS n FROM run_items WHERE run_id = 2 AND status = 'changed'")).toEqual(
      [{ n: 4 }],
    );

    const again = await usrun(['runs', 'undo', '2'], db);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const looks = { radius: 'order', looseAttrTimes: true } as const;
    const runAfter = view(db, looks);
    // Compare with the state right after run 1 (recomputed the same way from its saved dump).
    const expected: Dump = JSON.parse(JSON.stringify(afterRun)) as Dump;
    for (const table of ['reply_attributes', 'check_attributes']) {
      expected[table] = [...(expected[table] ?? [])]
        .sort(
          (a, b) =>
            (a['user_id'] as number) - (b['user_id'] as number) || (a['id'] as number) - (b['id'] as number),
        )
        .map(({ id: _id, ...r }) => r);
    }
    expected['user_attrs'] = (expected['user_attrs'] ?? []).map((a) => ({
      ...a,
      created_at: '*',
      updated_at: '*',
    }));
    expect(runAfter).toEqual(expected);
    expect(ndjson((await usrun(['runs', 'list', '--json'], db)).stdout)[0]).toMatchObject({
      id: 3,
      kind: 'undo',
      undo_of: 2,
    });
  });
});

describe('runs undo with users changed again since the run', () => {
  const db = join(tmp.dir, 'conflict.db');
  let beforeUndo: Dump;

  beforeAll(async () => {
    copyDb(template, 'conflict.db');
    await realRun(db, [scriptPath, '--filter', 'obj_id le 4']);
    // u2 changed by hand, u3 by a later run.
    sqlite(db, "UPDATE users SET email = 'by-hand@example.org' WHERE obj_id = 2");
    const second = join(tmp.dir, 'second.js');
    writeFileSync(second, "user.description = 'second run';\n");
    await realRun(db, [second, '--filter', 'obj_id eq 3']);
    beforeUndo = view(db);
  });

  it('reports the conflicts, leaves those users alone, restores the others, exits 1', async () => {
    const r = await usrun(['runs', 'undo', '1'], db);
    expect(r.code).toBe(1);
    const out = `${r.stdout}\n${r.stderr}`;
    // u2's email, which run 1 set, was changed by hand: a conflict. Run 2 changed only u3's
    // description (and so its last_update): undoing run 1 restores run 1's changes to u3 and
    // leaves run 2's alone.
    expect(out).toMatch(/u2 \(#2\).*conflict/);
    expect(out).not.toMatch(/u3 \(#3\).*conflict/);
    expect(out).toContain('--force');
    expect(r.stdout).toMatch(/^run 3 completed: 4 selected, 3 changed, 0 unchanged, 0 skipped, 1 failed/m);
    // The conflict is journaled like any item.
    expect(
      sqlite(db, "SELECT user_id, status FROM run_items WHERE run_id = 3 AND status = 'failed'"),
    ).toEqual([{ user_id: 2, status: 'failed' }]);

    const now = view(db, { radius: 'set' });
    const was = view(template, { radius: 'set' });
    const conflicted = beforeUndo;
    const of = (d: Dump, table: string, id: number) =>
      (d[table] ?? []).filter((r) => (table === 'users' ? r['obj_id'] : r['user_id']) === id);
    const tables = ['users', 'user_profiles', 'reply_attributes', 'check_attributes', 'user_attrs'];
    const strictNow = view(db);
    const u3 = of(was, 'users', 3)[0] as Record<string, unknown>;
    const u3Before = of(conflicted, 'users', 3)[0] as Record<string, unknown>;
    u3['description'] = u3Before['description'];
    u3['last_update'] = u3Before['last_update'];
    for (const table of tables) {
      expect(of(strictNow, table, 2), `${table} of conflicting user 2`).toEqual(of(conflicted, table, 2));
      for (const id of [1, 3, 4, 5])
        expect(of(now, table, id), `${table} of restored user ${id}`).toEqual(of(was, table, id));
    }
  });

  it('--force then undoes the conflicting users too (and leaves the restored ones as they are)', async () => {
    const r = await usrun(['runs', 'undo', '1', '--force'], db);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Everything is as before run 1, except what run 2 did that run 1 had not touched.
    const expected = view(template, { radius: 'set' });
    const u3 = expected['users']?.find((u) => u['obj_id'] === 3) as Record<string, unknown>;
    u3['description'] = 'second run';
    expect(view(db, { radius: 'set' })).toEqual(expected);
  });
});

describe('runs undo of a CSV run naming a user twice', () => {
  const db = join(tmp.dir, 'csv.db');

  it('undoes the rows in reverse order, back to the state before the run', async () => {
    copyDb(template, 'csv.db');
    const csv = join(tmp.dir, 'twice.csv');
    writeFileSync(csv, 'username,timeout,tag\nu1,111,first\nu2,222,second\nu1,333,third\n');
    const script = join(tmp.dir, 'csv.js');
    writeFileSync(
      script,
      `user.description = 'csv ' + row.tag;
user.attribute_add('Session-Timeout', Number(row.timeout), ':=');
user.check_attribute_add('Simultaneous-Use', Number(row.timeout) % 7, ':=');
user.profile_add('gold');
user.attr.set('tag', row.tag);
`,
    );
    await realRun(db, [script, '--csv', csv]);
    expect(
      sqlite(db, 'SELECT seq, user_id, status FROM run_items ORDER BY seq').map((i) => [
        i['user_id'],
        i['status'],
      ]),
    ).toEqual([
      [1, 'changed'],
      [2, 'changed'],
      [1, 'changed'],
    ]);
    // The second row for u1 saw the first one's changes.
    expect(
      sqlite(db, "SELECT value FROM reply_attributes WHERE user_id = 1 AND attr = 'Session-Timeout'"),
    ).toEqual([{ value: '333' }]);
    expect(sqlite(db, "SELECT value FROM user_attrs WHERE user_id = 1 AND name = 'tag'")).toEqual([
      { value: '"third"' },
    ]);

    const r = await usrun(['runs', 'undo', '1'], db);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^run 2 completed: 3 selected, 3 changed/m);
    expect(view(db, { radius: 'set' })).toEqual(view(template, { radius: 'set' }));
  });
});
