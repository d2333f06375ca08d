import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Migrator } from 'kysely/migration';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/dialects/sqlite/open-sqlite.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { ndjson, tempDir } from '../helpers/cli.js';
import { dumpDb, sqlite } from '../helpers/dump.js';
import { FREERADIUS_SCHEMA } from '../helpers/freeradius.js';
import { usrun } from '../helpers/in-process.js';

/**
 * `users import`, `radius import` and `profiles attr add|rm` are journaled runs through the one
 * commit path: a dry run prints each item's diff and writes nothing, a real one is in `runs`
 * with its items and changes, `runs undo` takes it back (and a user or profile changed since is
 * a conflict), and doing it again changes nothing.
 */

const tmp = tempDir('usrun-journaled-imports-');
afterAll(() => tmp.cleanup());

let db: string;
let n = 0;

async function cli(args: string[], options: { answer?: boolean } = {}) {
  return usrun([...args, '--db', db], options);
}

async function ok(args: string[]) {
  const result = await cli(args);
  if (result.code !== 0) throw new Error(`usrun ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}

function file(name: string, text: string): string {
  const path = join(tmp.dir, `${++n}-${name}`);
  writeFileSync(path, text);
  return path;
}

/** The run id in a --json run's summary line. */
const runIdOf = (stdout: string) => (ndjson(stdout).at(-1)?.['summary'] as { run_id: number }).run_id;

/** The data tables only (the journal grows with every real run, undo included). */
const data = () => dumpDb(db, { journal: false });

beforeEach(async () => {
  db = join(tmp.dir, `db-${++n}.sqlite`);
  await ok(['init']);
  await ok(['profiles', 'add', 'gold']);
  await ok(['users', 'import', file('base.csv', 'username,email\nalice,alice@old.test\n'), '--yes']);
});

describe('users import as a journaled run', () => {
  const csv = () => file('people.csv', 'username,email,klass\nalice,alice@new.test,staff\nbob,bob@x.test,\n');

  it('--dry-run prints each row as a diff and writes nothing, journal included', async () => {
    const before = dumpDb(db);
    const dry = await ok(['users', 'import', csv(), '--dry-run']);
    expect(dry.stdout).toMatch(
      /^alice \(#1\), row at line 2\n {2}email: "alice@old.test" → "alice@new.test"\n {2}klass: null → "staff"\n/m,
    );
    expect(dry.stdout).toMatch(/^bob \(#\d+\), row at line 3\n {2}\+ user bob\n {4}email: "bob@x.test"\n/m);
    expect(dry.stdout).toContain('dry run (nothing written): 2 selected, 2 would change');
    expect(dumpDb(db)).toEqual(before);
  });

  it('is journaled item by item; runs undo restores the data as it was; a second import changes nothing', async () => {
    const before = data();
    const path = csv();
    const result = await ok(['users', 'import', path, '--json']);
    const runId = runIdOf(result.stdout);
    expect(sqlite(db, 'SELECT email, klass FROM users ORDER BY obj_id')).toEqual([
      { email: 'alice@new.test', klass: 'staff' },
      { email: 'bob@x.test', klass: null },
    ]);

    const list = ndjson((await ok(['runs', 'list', '--json'])).stdout);
    expect(list[0]).toMatchObject({ id: runId, kind: 'import', script_path: path, status: 'completed' });
    expect(list[0]?.['selection']).toMatchObject({
      csv: path,
      csv_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const show = ndjson((await ok(['runs', 'show', String(runId), '--json'])).stdout);
    expect(show[0]?.['run']).toMatchObject({ counts: { selected: 2, changed: 2 } });
    expect(show[1]).toMatchObject({
      username: 'alice',
      line: 2,
      status: 'changed',
      changes: [
        { kind: 'field', target: 'email', before: 'alice@old.test', after: 'alice@new.test' },
        { kind: 'field', target: 'klass', before: null, after: 'staff' },
        { kind: 'field', target: 'last_update', before: expect.any(String), after: expect.any(String) },
      ],
    });
    const bobId = sqlite<{ obj_id: number }>(db, `SELECT obj_id FROM users WHERE username = 'bob'`)[0]
      ?.obj_id;
    expect(show[2]).toMatchObject({
      user_id: bobId,
      username: 'bob',
      changes: [
        { kind: 'user', target: 'bob', before: null, after: { username: 'bob', email: 'bob@x.test' } },
      ],
    });
    expect((await ok(['runs', 'show', String(runId)])).stdout).toContain('  + user bob\n');

    const again = await ok(['users', 'import', path, '--json']);
    expect(
      ndjson(again.stdout)
        .slice(0, -1)
        .map((i) => i['status']),
    ).toEqual(['unchanged', 'unchanged']);

    const undoDry = await ok(['runs', 'undo', String(runId), '--dry-run']);
    expect(undoDry.stdout).toContain('  - user bob\n');
    expect(undoDry.stdout).toContain('  email: "alice@new.test" → "alice@old.test"\n');
    const undo = await ok(['runs', 'undo', String(runId), '--yes']);
    expect(undo.stdout).toMatch(/run \d+ completed: 2 selected, 2 changed/);
    expect(data()).toEqual(before);
  });

  it('leaves a created user changed since alone as a conflict, unless --force', async () => {
    const runId = runIdOf((await ok(['users', 'import', csv(), '--json'])).stdout);
    await ok(['users', 'import', file('later.csv', 'username,email\nbob,bob@later.test\n')]);
    const undo = await cli(['runs', 'undo', String(runId), '--yes']);
    expect(undo.code).toBe(1);
    expect(undo.stderr).toMatch(/bob .*conflict: user bob was changed again since the run/);
    expect(sqlite(db, `SELECT email FROM users WHERE username = 'bob'`)).toEqual([
      { email: 'bob@later.test' },
    ]);
    // alice was not touched since: restored.
    expect(sqlite(db, `SELECT email FROM users WHERE username = 'alice'`)).toEqual([
      { email: 'alice@old.test' },
    ]);
    await ok(['runs', 'undo', String(runId), '--force', '--yes']);
    expect(sqlite(db, `SELECT count(*) AS n FROM users WHERE username = 'bob'`)).toEqual([{ n: 0 }]);
  });

  it('a created user that gained a profile since is a conflict too (undo would delete it)', async () => {
    const runId = runIdOf((await ok(['users', 'import', csv(), '--json'])).stdout);
    const [gold] = sqlite<{ id: number }>(db, `SELECT id FROM profiles WHERE short_name = 'gold'`);
    sqlite(
      db,
      `INSERT INTO user_profiles (user_id, profile_id, priority) SELECT obj_id, ?, 1 FROM users WHERE username = 'bob'`,
      [gold?.id],
    );
    const undo = await cli(['runs', 'undo', String(runId), '--yes']);
    expect(undo.code).toBe(1);
    expect(undo.stderr).toContain('user bob has gained profile gold since it was created');
  });

  it('asks before a real import of more than one row on a terminal, and writes nothing when refused', async () => {
    const before = dumpDb(db);
    const refused = await cli(['users', 'import', csv()], { answer: false });
    expect(refused.code).toBe(1); // declined, not a usage error
    expect(refused.stderr).toMatch(
      /About to change up to 2 users in .* from .*people\.csv\. Continue\? \[y\/N\]/,
    );
    expect(dumpDb(db)).toEqual(before);
    expect((await cli(['users', 'import', csv()], { answer: true })).code).toBe(0);
  });
});

describe('radius import as a journaled run', () => {
  function source(): string {
    const path = join(tmp.dir, `${++n}-freeradius.db`);
    const raw = new Database(path);
    raw.exec(readFileSync(FREERADIUS_SCHEMA, 'utf8'));
    raw.exec(`
      INSERT INTO radcheck (username, attribute, op, value) VALUES ('carol', 'Cleartext-Password', ':=', 'carol-pw');
      INSERT INTO radreply (username, attribute, op, value) VALUES ('carol', 'Session-Timeout', ':=', '1800');
      INSERT INTO radreply (username, attribute, op, value) VALUES ('alice', 'Idle-Timeout', '=', '300');
      INSERT INTO radusergroup (username, groupname, priority) VALUES ('carol', 'premium', 1), ('alice', 'gold', 2);
      INSERT INTO radgroupreply (groupname, attribute, op, value) VALUES ('premium', 'Reply-Message', ':=', 'premium plan');
      INSERT INTO radgroupcheck (groupname, attribute, op, value) VALUES ('gold', 'Simultaneous-Use', ':=', '2');`);
    raw.close();
    return path;
  }

  it('--dry-run prints each profile and user as a diff and writes nothing', async () => {
    const before = dumpDb(db);
    const dry = await ok(['radius', 'import', '--from', source(), '--dry-run']);
    expect(dry.stdout).toMatch(
      /^profile premium\n {2}\+ profile premium\n {2}\+ group reply Reply-Message := premium plan\n/m,
    );
    expect(dry.stdout).toMatch(/^profile gold\n {2}\+ group check Simultaneous-Use := 2\n/m);
    expect(dry.stdout).toMatch(
      /^carol \(#\d+\)\n {2}\+ user carol\n(?: {4}.*\n)+ {2}\+ profile premium\n {2}\+ check Cleartext-Password := <hidden>\n {2}\+ reply Session-Timeout := 1800\n/m,
    );
    expect(dry.stdout).toMatch(/^alice \(#1\)\n {2}\+ profile gold\n {2}\+ reply Idle-Timeout = 300\n/m);
    expect(dumpDb(db)).toEqual(before);
  });

  it('is journaled per profile and user; runs undo restores the data; a second import changes nothing', async () => {
    const before = data();
    const from = source();
    const runId = runIdOf((await ok(['radius', 'import', '--from', from, '--json'])).stdout);
    const show = ndjson((await ok(['runs', 'show', String(runId), '--json'])).stdout);
    expect(show[0]?.['run']).toMatchObject({ kind: 'radius-import', selection: { from } });
    expect(show.slice(1).map((i) => [i['profile'] ?? i['username'], i['status']])).toEqual([
      // Profiles first in the source's order (radusergroup is read by username, priority), then users.
      ['gold', 'changed'],
      ['premium', 'changed'],
      ['carol', 'changed'],
      ['alice', 'changed'],
    ]);
    expect(show[2]?.['changes']).toEqual([
      { kind: 'group', target: 'premium', before: null, after: { name: 'premium', description: null } },
      {
        kind: 'group_reply',
        target: 'premium',
        before: null,
        after: { id: null, attr: 'Reply-Message', op: ':=', value: 'premium plan' },
      },
    ]);
    expect(sqlite(db, 'SELECT user_id FROM run_changes WHERE run_id = ? AND seq = 1', [runId])).toEqual([
      { user_id: null },
      { user_id: null },
    ]);

    const again = ndjson((await ok(['radius', 'import', '--from', from, '--json'])).stdout);
    expect(again.slice(0, -1).map((i) => i['status'])).toEqual(Array(4).fill('unchanged'));

    const undoDry = await ok(['runs', 'undo', String(runId), '--dry-run']);
    expect(undoDry.stdout).toContain('  - user carol\n');
    expect(undoDry.stdout).toContain('  - profile premium\n');
    await ok(['runs', 'undo', String(runId), '--yes']);
    expect(data()).toEqual(before);
  });

  it('an imported user changed since is a conflict; so is its profile, which still has it as a member', async () => {
    const runId = runIdOf((await ok(['radius', 'import', '--from', source(), '--json'])).stdout);
    await ok(['users', 'import', file('later.csv', 'username,email\ncarol,carol@later.test\n')]);
    const undo = await cli(['runs', 'undo', String(runId), '--yes', '--json']);
    expect(undo.code).toBe(1);
    const items = ndjson(undo.stdout).slice(0, -1);
    const byName = Object.fromEntries(items.map((i) => [i['profile'] ?? i['username'], i]));
    expect(byName['carol']?.['error']?.message).toContain('user carol was changed again since the run');
    expect(byName['premium']?.['error']?.message).toContain('profile premium has gained 1 member');
    expect(byName['alice']?.['status']).toBe('changed');
    expect(sqlite(db, `SELECT count(*) AS n FROM users WHERE username = 'carol'`)).toEqual([{ n: 1 }]);
  });
});

describe('profiles attr as a journaled run', () => {
  it('--dry-run prints the diff and writes nothing', async () => {
    const before = dumpDb(db);
    const dry = await ok(['profiles', 'attr', 'add', 'gold', 'Session-Timeout', ':=', '7200', '--dry-run']);
    expect(dry.stdout).toContain(
      'profile gold: reply Session-Timeout := 7200 added (dry run, nothing written)',
    );
    expect(dry.stdout).toContain('  + group reply Session-Timeout := 7200\n');
    expect(dumpDb(db)).toEqual(before);
  });

  it('add and rm are journaled; runs undo restores them; adding again changes nothing', async () => {
    const before = data();
    const add = JSON.parse(
      (await ok(['profiles', 'attr', 'add', 'gold', 'Simultaneous-Use', ':=', '2', '--check', '--json']))
        .stdout,
    ) as { run_id: number };
    const show = ndjson((await ok(['runs', 'show', String(add.run_id), '--json'])).stdout);
    expect(show[0]?.['run']).toMatchObject({ kind: 'profiles', selection: { profile: 'gold' } });
    expect(show[1]).toMatchObject({
      user_id: null,
      profile: 'gold',
      status: 'changed',
      changes: [
        {
          kind: 'group_check',
          target: 'gold',
          before: null,
          after: { attr: 'Simultaneous-Use', value: '2' },
        },
      ],
    });
    expect((await ok(['runs', 'show', String(add.run_id)])).stdout).toContain(
      'changed profile gold\n  + group check Simultaneous-Use := 2\n',
    );
    const again = JSON.parse(
      (await ok(['profiles', 'attr', 'add', 'gold', 'Simultaneous-Use', ':=', '2', '--check', '--json']))
        .stdout,
    ) as { updated: boolean; changes: unknown[] };
    expect(again).toMatchObject({ updated: false, changes: [] });

    const afterAdd = data();
    const rm = JSON.parse(
      (await ok(['profiles', 'attr', 'rm', 'gold', 'Simultaneous-Use', '2', '--check', '--json'])).stdout,
    ) as { run_id: number };
    expect(sqlite(db, 'SELECT count(*) AS n FROM profile_check_attributes')).toEqual([{ n: 0 }]);
    await ok(['runs', 'undo', String(rm.run_id)]);
    expect(data()).toEqual(afterAdd);
    await ok(['runs', 'undo', String(add.run_id)]);
    expect(data()).toEqual(before);
  });

  it('a row changed again since is a conflict, unless --force', async () => {
    const check = (value: string) => [
      'profiles',
      'attr',
      'add',
      'gold',
      'Simultaneous-Use',
      '==',
      value,
      '--check',
    ];
    await ok(check('1'));
    const change = JSON.parse((await ok([...check('2'), '--json'])).stdout) as { run_id: number };
    await ok(check('3'));
    const undo = await cli(['runs', 'undo', String(change.run_id)]);
    expect(undo.code).toBe(1);
    expect(undo.stderr).toMatch(/profile gold: conflict: group_check gold was changed again since the run/);
    expect(sqlite(db, 'SELECT value FROM profile_check_attributes')).toEqual([{ value: '3' }]);
    await ok(['runs', 'undo', String(change.run_id), '--force']);
    expect(sqlite(db, 'SELECT value FROM profile_check_attributes')).toEqual([{ value: '1' }]);
  });
});

describe('migration 0005_journal_profiles', () => {
  it('keeps every journal row of a 0004 database and lets run_changes.user_id be null', async () => {
    db = join(tmp.dir, `old-${++n}.sqlite`);
    const store = openSqlite(db, { create: true });
    try {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.capabilities) });
      expect((await migrator.migrateTo('0004_radius')).error).toBeUndefined();
    } finally {
      await store.close();
    }
    sqlite(
      db,
      `INSERT INTO runs (kind, script_text, script_sha256, selection, params, os_user, host, started_at, status, counts)
      VALUES ('run', 'x', 'y', '{}', '{}', 'me', 'here', '2026-01-01T00:00:00.000Z', 'completed', '{}')`,
    );
    sqlite(
      db,
      `INSERT INTO run_changes (run_id, seq, n, user_id, kind, target, before, after) VALUES (1, 0, 0, 7, 'field', 'email', '"a"', '"b"')`,
    );
    expect(() =>
      sqlite(
        db,
        `INSERT INTO run_changes (run_id, seq, n, user_id, kind, target) VALUES (1, 0, 1, NULL, 'group', 'g')`,
      ),
    ).toThrow(/NOT NULL/);

    await ok(['init']);
    expect(
      sqlite(db, 'SELECT run_id, seq, n, user_id, kind, target, before, after FROM run_changes'),
    ).toEqual([
      { run_id: 1, seq: 0, n: 0, user_id: 7, kind: 'field', target: 'email', before: '"a"', after: '"b"' },
    ]);
    sqlite(
      db,
      `INSERT INTO run_changes (run_id, seq, n, user_id, kind, target) VALUES (1, 0, 1, NULL, 'group', 'g')`,
    );
    expect(sqlite(db, 'SELECT profile FROM run_items')).toEqual([]);
    // Still one b-tree keyed by (run_id, seq, n), and still cascading from runs.
    expect(
      sqlite<{ sql: string }>(db, `SELECT sql FROM sqlite_master WHERE name = 'run_changes'`)[0]?.sql,
    ).toMatch(/WITHOUT ROWID/);
    expect(sqlite(db, 'SELECT "table", on_delete FROM pragma_foreign_key_list(\'run_changes\')')).toEqual([
      { table: 'runs', on_delete: 'CASCADE' },
    ]);
  });
});
