import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { dumpDb, sqlite } from '../helpers/dump.js';
import { usrun } from '../helpers/in-process.js';
import { openStore } from '../../src/store/using-store.js';
import { readFreeradiusTables } from '../../src/store/read-freeradius-tables.js';

/**
 * Migration 0004 against a real SQLite file: the rlm_sql views' rows and semantics, profile
 * attributes through the CLI (show, attr add/rm, users show, filters), and reading FreeRADIUS
 * tables of older shapes. FreeRADIUS itself reads them in test/e2e/freeradius-*.test.ts.
 */

const tmp = tempDir('usrun-radius-schema-');
const db = join(tmp.dir, 'users.db');
afterAll(() => tmp.cleanup());

const cli = (...args: string[]) => usrun([...args, '--db', db]);

beforeAll(async () => {
  expect((await cli('init')).code).toBe(0);
  const now = Date.now();
  const iso = (ms: number) => new Date(now + ms).toISOString();
  sqlite(
    db,
    `INSERT INTO users (username, is_active, expiration) VALUES ('live', 1, NULL), ('off', 0, NULL),
    ('expired', 1, ?), ('later', 1, ?)`,
    [iso(-60_000), iso(3_600_000)],
  );
  sqlite(db, `INSERT INTO profiles (short_name, name) VALUES ('gold', 'Gold'), ('silver', 'Silver')`);
  for (const user of [1, 2, 3, 4]) {
    sqlite(
      db,
      `INSERT INTO check_attributes (user_id, attr, op, value) VALUES (?, 'Cleartext-Password', ':=', 'pw')`,
      [user],
    );
    sqlite(
      db,
      `INSERT INTO reply_attributes (user_id, attr, op, value) VALUES (?, 'Session-Timeout', ':=', '60')`,
      [user],
    );
    sqlite(db, `INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (?, 1, 2), (?, 2, 1)`, [
      user,
      user,
    ]);
  }
  sqlite(
    db,
    `INSERT INTO reply_attributes (user_id, attr, op, value) VALUES (1, 'Reply-Message', '+=', 'second')`,
  );
});

describe('the rlm_sql views', () => {
  it('radcheck: live users their rows; inactive or expired users one Auth-Type := Reject', () => {
    expect(
      sqlite(db, 'SELECT id, username, attribute, op, value FROM radcheck ORDER BY username, id'),
    ).toEqual([
      { id: -3, username: 'expired', attribute: 'Auth-Type', op: ':=', value: 'Reject' },
      { id: 4, username: 'later', attribute: 'Cleartext-Password', op: ':=', value: 'pw' },
      { id: 1, username: 'live', attribute: 'Cleartext-Password', op: ':=', value: 'pw' },
      { id: -2, username: 'off', attribute: 'Auth-Type', op: ':=', value: 'Reject' },
    ]);
  });

  it('radreply and radusergroup: live users only, rows in id order, groups by priority', () => {
    expect(
      sqlite(db, `SELECT id, attribute, op, value FROM radreply WHERE username = 'live' ORDER BY id`),
    ).toEqual([
      { id: 1, attribute: 'Session-Timeout', op: ':=', value: '60' },
      { id: 5, attribute: 'Reply-Message', op: '+=', value: 'second' },
    ]);
    expect(sqlite(db, `SELECT count(*) AS n FROM radreply WHERE username IN ('off', 'expired')`)).toEqual([
      { n: 0 },
    ]);
    expect(
      sqlite(db, `SELECT groupname, priority FROM radusergroup WHERE username = 'later' ORDER BY priority`),
    ).toEqual([
      { groupname: 'silver', priority: 1 },
      { groupname: 'gold', priority: 2 },
    ]);
    expect(sqlite(db, `SELECT count(*) AS n FROM radusergroup WHERE username IN ('off', 'expired')`)).toEqual(
      [{ n: 0 }],
    );
  });

  it('follows a user whose expiration passes, without any write', () => {
    sqlite(db, `UPDATE users SET expiration = ? WHERE username = 'later'`, [
      new Date(Date.now() - 1).toISOString(),
    ]);
    expect(sqlite(db, `SELECT attribute, value FROM radcheck WHERE username = 'later'`)).toEqual([
      { attribute: 'Auth-Type', value: 'Reject' },
    ]);
    sqlite(db, `UPDATE users SET expiration = NULL WHERE username = 'later'`);
  });

  it('radpostauth and radacct take the rows rlm_sql inserts', () => {
    sqlite(
      db,
      `INSERT INTO radpostauth (username, pass, reply, authdate) VALUES ('live', 'pw', 'Access-Accept', '2026-01-01 00:00:00.000000')`,
    );
    sqlite(
      db,
      `INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, acctstarttime) VALUES ('s1', 'u1', 'live', '127.0.0.1', '2026-01-01 00:00:00')`,
    );
    expect(sqlite(db, 'SELECT username, reply FROM radpostauth')).toEqual([
      { username: 'live', reply: 'Access-Accept' },
    ]);
    expect(sqlite(db, 'SELECT username, realm, acctstoptime FROM radacct')).toEqual([
      { username: 'live', realm: null, acctstoptime: null },
    ]);
  });
});

describe('profile attributes through the CLI', () => {
  it('profiles attr add/rm follow the operator rules and show up in radgroupreply/radgroupcheck', async () => {
    expect((await cli('profiles', 'attr', 'add', 'gold', 'Session-Timeout', ':=', '7200')).stdout).toContain(
      'reply Session-Timeout := 7200 added',
    );
    expect((await cli('profiles', 'attr', 'add', 'gold', 'Session-Timeout', ':=', '7200')).stdout).toContain(
      'already present',
    );
    expect(
      (await cli('profiles', 'attr', 'add', 'gold', 'Simultaneous-Use', '==', '1', '--check')).code,
    ).toBe(0);
    expect(sqlite(db, `SELECT groupname, attribute, op, value FROM radgroupreply`)).toEqual([
      { groupname: 'gold', attribute: 'Session-Timeout', op: ':=', value: '7200' },
    ]);
    expect(sqlite(db, `SELECT groupname, attribute, op, value FROM radgroupcheck`)).toEqual([
      { groupname: 'gold', attribute: 'Simultaneous-Use', op: '==', value: '1' },
    ]);
    const show = await cli('profiles', 'show', 'gold', '--json');
    expect(JSON.parse(show.stdout)).toMatchObject({
      short_name: 'gold',
      members: 4,
      attributes: [{ attr: 'Session-Timeout', op: ':=', value: '7200' }],
      check_attributes: [{ attr: 'Simultaneous-Use', op: '==', value: '1' }],
    });
    expect((await cli('profiles', 'attr', 'rm', 'gold', 'Session-Timeout', '7200')).stdout).toContain(
      'removed',
    );
    expect(sqlite(db, `SELECT count(*) AS n FROM radgroupreply`)).toEqual([{ n: 0 }]);
  });

  it('refuses a wrong operator, a long value, a bad name or an unknown profile with exit 2, writing nothing', async () => {
    const before = dumpDb(db);
    const cases: [string[], RegExp][] = [
      [['gold', 'Session-Timeout', '==', '1'], /operator "==" is not one of = := \+=/],
      [['gold', 'Session-Timeout', '~=', '1', '--check'], /operator "~=" is not one of/],
      [['gold', 'Reply-Message', ':=', 'x'.repeat(254)], /at most 253 characters/],
      [['gold', 'Bad Name', ':=', '1'], /invalid attribute name/],
      [['nope', 'Session-Timeout', ':=', '1'], /no profile with short_name nope/],
    ];
    for (const [args, message] of cases) {
      const result = await cli('profiles', 'attr', 'add', ...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(dumpDb(db)).toEqual(before);
  });

  it('users show lists profile rows as inherited; filters reach them', async () => {
    await cli('profiles', 'attr', 'add', 'silver', 'Idle-Timeout', '=', '600');
    const text = (await cli('users', 'show', 'live')).stdout;
    expect(text).toContain('Idle-Timeout = 600  (inherited from profile silver)');
    const json = JSON.parse((await cli('users', 'show', 'live', '--json')).stdout) as { profiles: unknown[] };
    expect(json.profiles).toContainEqual(
      expect.objectContaining({
        short_name: 'silver',
        attributes: [{ attr: 'Idle-Timeout', op: '=', value: '600' }],
      }),
    );
    const list = await cli(
      'users',
      'list',
      '--json',
      '--filter',
      'profile_attributes[short_name eq "silver" and value ge 600]',
    );
    expect(list.stdout.trim().split('\n')).toHaveLength(4);
    const none = await cli(
      'users',
      'list',
      '--json',
      '--filter',
      'profile_check_attributes[attr eq "Idle-Timeout"]',
    );
    expect(none.stdout).toBe('');
  });
});

describe('reading FreeRADIUS tables', () => {
  it('reads an older schema: radusergroup without id, a capitalised Value column, missing group tables', async () => {
    const file = join(tmp.dir, 'old.db');
    const raw = new Database(file);
    raw.exec(`CREATE TABLE radcheck (id INTEGER PRIMARY KEY, UserName TEXT, Attribute TEXT, op TEXT, Value TEXT);
      CREATE TABLE radusergroup (UserName TEXT, GroupName TEXT, priority INTEGER);
      INSERT INTO radcheck VALUES (2, 'bob', 'Cleartext-Password', ':=', 'b'), (1, 'amy', 'Cleartext-Password', ':=', 'a');
      INSERT INTO radusergroup VALUES ('amy', 'g2', 2), ('amy', 'g1', 1);`);
    raw.close();
    const source = await openStore({ location: file });
    try {
      const tables = await readFreeradiusTables(source);
      expect(tables.radcheck.map((r) => [r.key, r.value])).toEqual([
        ['amy', 'a'],
        ['bob', 'b'],
      ]);
      expect(tables.radusergroup).toEqual([
        { username: 'amy', groupname: 'g1', priority: 1 },
        { username: 'amy', groupname: 'g2', priority: 2 },
      ]);
      expect(tables.missing).toEqual(['radreply', 'radgroupcheck', 'radgroupreply']);
    } finally {
      await source.close();
    }
  });

  it('refuses a file without radcheck, and a source with problems, writing nothing (exit 2)', async () => {
    const missing = await cli('radius', 'import', '--from', join(tmp.dir, 'nope.db'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no FreeRADIUS database at');
    const empty = join(tmp.dir, 'empty.db');
    new Database(empty).close();
    const none = await cli('radius', 'import', '--from', empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('has no radcheck table');

    const bad = join(tmp.dir, 'bad.db');
    const raw = new Database(bad);
    raw.exec(`CREATE TABLE radcheck (id INTEGER PRIMARY KEY, username TEXT, attribute TEXT, op TEXT, value TEXT);
      CREATE TABLE radusergroup (id INTEGER PRIMARY KEY, username TEXT, groupname TEXT, priority INTEGER);
      INSERT INTO radcheck (username, attribute, op, value) VALUES ('fine', 'Cleartext-Password', ':=', 'x');
      INSERT INTO radusergroup (username, groupname, priority) VALUES ('fine', 'sales team', 1);`);
    raw.close();
    const before = dumpDb(db);
    const result = await cli('radius', 'import', '--from', bad);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nothing was written');
    expect(result.stderr).toContain('radusergroup row 1: groupname "sales team"');
    expect(dumpDb(db)).toEqual(before);
  });
});
