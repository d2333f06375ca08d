import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli, tempDir } from '../helpers/cli.js';
import { dbQuery, dumpDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';
import { sqlite } from '../helpers/dump.js';
import { usrun } from '../helpers/in-process.js';

const tmp = tempDir();
const db = join(tmp.dir, 'x.db');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

beforeAll(async () => {
  const init = await runCli(['init', '--demo', '1000', '--db', db]);
  expect(init.stderr).toBe('');
  expect(init.code).toBe(0);
  expect(init.stdout).toContain('added 1000 demo users');
});

describe('usrun init (the real CLI, a SQLite file)', () => {
  it('creates the schema and is idempotent', async () => {
    const again = await runCli(['init', '--db', db]);
    expect(again.code).toBe(0);
    expect(sqlite(db, 'SELECT count(*) AS n FROM users')).toEqual([{ n: 1000 }]);
    expect(sqlite(db, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
  });

  it('refuses a missing database without creating it, naming the path and init', async () => {
    const missing = join(tmp.dir, 'missing.db');
    for (const args of [
      ['users', 'list'],
      ['profiles', 'list'],
      ['run', 'scripts-examples/normalise-emails.js', '--all'],
      ['runs', 'list'],
    ]) {
      const r = await runCli([...args, '--db', missing]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(missing);
      expect(r.stderr).toContain('usrun init');
      expect(existsSync(missing)).toBe(false);
    }
  });

  it('refuses an empty (unmigrated) SQLite file', async () => {
    const empty = join(tmp.dir, 'empty.db');
    writeFileSync(empty, '');
    const r = await runCli(['users', 'list', '--db', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a usrun database yet: run `usrun init/);
  });

  it('uses USRUN_DB when --db is absent', async () => {
    const r = await runCli(['users', 'list', '--limit', '3', '--json'], { env: { USRUN_DB: db } });
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout)).toHaveLength(3);
  });
});

describe.each(DIALECTS)('%s', (dialect) => {
  let db = '';
  beforeAll(async () => {
    db = await testStore(dialect, { demo: 1000 });
  });

  describe('usrun users list --filter', () => {
    it('prints exactly the users the filter selects', async () => {
      const filter = 'last_login lt "-90d" and is_active eq true';
      const r = await usrun(['users', 'list', '--db', db, '--filter', filter, '--json']);
      expect(r.code).toBe(0);
      const cutoff = new Date(Date.now() - 90 * 86400_000).toISOString();
      const expected = await dbQuery<{ obj_id: number }>(
        db,
        'SELECT obj_id FROM users WHERE last_login < ? AND is_active = ? ORDER BY obj_id',
        [cutoff, true],
      );
      expect(expected.length).toBeGreaterThan(10);
      expect(ndjson(r.stdout).map((u) => u['obj_id'])).toEqual(expected.map((u) => u.obj_id));
    });

    it('prints a table by default', async () => {
      const r = await usrun(['users', 'list', '--db', db, '--filter', 'obj_id le 3']);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^ID\s+USERNAME\s+NAME\s+EMAIL/);
      expect(r.stdout.trim().split('\n')).toHaveLength(4);
      expect(r.stderr).toBe('3 users\n');
    });

    it('shows a caret under a broken filter and exits 2', async () => {
      const r = await usrun([
        'users',
        'list',
        '--db',
        db,
        '--filter',
        'last_login lt "-90d" and is_actve eq true',
      ]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('is_actve');
      const lines = r.stderr.split('\n');
      const exprLine = lines.findIndex((l) => l.includes('last_login lt "-90d" and is_actve eq true'));
      expect(exprLine).toBeGreaterThan(-1);
      const caret = lines[exprLine + 1] ?? '';
      expect(caret.indexOf('^')).toBe((lines[exprLine] ?? '').indexOf('is_actve'));
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    });

    it('saves, uses and removes a named filter', async () => {
      expect((await usrun(['filters', 'save', 'idle', 'last_login lt "-90d"', '--db', db])).code).toBe(0);
      const named = await usrun(['users', 'list', '--db', db, '--filter', '@idle', '--json']);
      const inline = await usrun(['users', 'list', '--db', db, '--filter', 'last_login lt "-90d"', '--json']);
      expect(named.code).toBe(0);
      expect(named.stdout).toBe(inline.stdout);
      expect((await usrun(['filters', 'list', '--db', db])).stdout).toContain('@idle');
      expect((await usrun(['filters', 'rm', 'idle', '--db', db])).code).toBe(0);
      const gone = await usrun(['users', 'list', '--db', db, '--filter', '@idle']);
      expect(gone.code).toBe(2);
      expect(gone.stderr).toContain('idle');
    });
  });

  describe('usrun users show / profiles', () => {
    it('shows a user by id and by username', async () => {
      const [u] = await dbQuery<{ username: string }>(db, 'SELECT username FROM users WHERE obj_id = 5');
      const byId = await usrun(['users', 'show', '5', '--db', db, '--json']);
      const byName = await usrun(['users', 'show', u?.username ?? '', '--db', db, '--json']);
      expect(byId.code).toBe(0);
      expect(byName.stdout).toBe(byId.stdout);
      const user = JSON.parse(byId.stdout) as Record<string, unknown>;
      expect(user['username']).toBe(u?.username);
      expect(Array.isArray(user['profiles'])).toBe(true);
      const text = await usrun(['users', 'show', '5', '--db', db]);
      expect(text.stdout).toContain('profiles');
      expect(text.stdout).toContain('reply attributes');
    });

    it('reports an unknown user with exit 2', async () => {
      const r = await usrun(['users', 'show', 'no-such-user', '--db', db]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no-such-user');
    });

    it('adds and lists profiles', async () => {
      expect((await usrun(['profiles', 'add', 'test-99', '--name', 'Test 99', '--db', db])).code).toBe(0);
      const list = await usrun(['profiles', 'list', '--db', db, '--json']);
      expect(ndjson(list.stdout).find((p) => p['short_name'] === 'test-99')).toMatchObject({
        name: 'Test 99',
        members: 0,
      });
      const dup = await usrun(['profiles', 'add', 'test-99', '--db', db]);
      expect(dup.code).toBe(2);
    });
  });

  describe('usrun users import', () => {
    it('upserts by username', async () => {
      const csv = join(tmp.dir, `people-${dialect}.csv`);
      const [u] = await dbQuery<{ username: string }>(db, 'SELECT username FROM users WHERE obj_id = 1');
      writeFileSync(
        csv,
        `username;email;is_active\r\n${u?.username};new@example.org;false\r\nbrand.new;bn@example.org;true\r\n`,
      );
      const r = await usrun(['users', 'import', csv, '--db', db]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/run \d+ completed: 2 selected, 2 changed/);
      expect(await dbQuery(db, 'SELECT email, is_active FROM users WHERE obj_id = 1')).toEqual([
        { email: 'new@example.org', is_active: 0 },
      ]);
      expect(await dbQuery(db, "SELECT count(*) AS n FROM users WHERE username = 'brand.new'")).toEqual([
        { n: 1 },
      ]);
    });

    it('writes nothing from a file with bad rows and names their lines', async () => {
      const csv = join(tmp.dir, 'bad.csv');
      writeFileSync(
        csv,
        'username,email,is_active\nok.user,ok@example.org,true\n,missing@example.org,true\nthird,x@example.org,maybe\n',
      );
      const before = await dumpDb(db);
      const r = await usrun(['users', 'import', csv, '--db', db]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('bad.csv:3');
      expect(r.stderr).toContain('bad.csv:4');
      expect(await dumpDb(db)).toEqual(before);
    });
  });
});

describe('usage errors', () => {
  it('--help and --version exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usrun');
    for (const cmd of ['init', 'run', 'users list', 'runs undo', 'filters save', 'attrs purge']) {
      const r = await runCli([...cmd.split(' '), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Usage: usrun');
    }
    const v = await runCli(['--version']);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('unknown commands and options exit 2', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['users', 'list', '--nope', '--db', db])).code).toBe(2);
    expect((await runCli(['users', 'list', '--limit', 'x', '--db', db])).code).toBe(2);
  });
});
