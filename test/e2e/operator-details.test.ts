import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { dbQuery, dumpDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { addUsers, writeFile } from '../helpers/run-fixtures.js';

/**
 * The smaller things an admin trips over: `users show` by email, external id or any-case
 * username; did-you-mean for a mistyped user field in a script; script syntax errors with the
 * line and a caret; `filters save` over an existing name; a CSV read with the wrong delimiter;
 * a user repeated in a CSV; `--limit` saying "3 of 1,000".
 */

const tmp = tempDir('usrun-details-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

describe.each(DIALECTS)('on %s', (dialect) => {
  let db: string;
  const cli = (args: string[]) => usrun([...args, '--db', db]);
  beforeAll(async () => {
    db = await testStore(dialect);
    await addUsers(db, [
      { obj_id: 1, username: 'alice', email: 'Alice@Example.net', external_id: 'CRM-1' },
      { obj_id: 2, username: 'bob', email: 'bob@example.net', external_id: 'CRM-2' },
      { obj_id: 3, username: 'carol', email: 'shared@example.net', external_id: 'crm-3' },
      { obj_id: 4, username: 'dave', email: 'shared@example.net', external_id: 'CRM-4' },
      { obj_id: 5, username: 'Bob.Smith', email: null, external_id: null },
    ]);
  });

  describe('users show', () => {
    it('finds a user by email, external id or any-case username, and says which matched', async () => {
      const cases = [
        ['alice@example.NET', 'email', 'alice (#1)'],
        ['crm-2', 'external_id', 'bob (#2)'],
        ['CRM-3', 'external_id', 'carol (#3)'],
        ['BOB.SMITH', 'username (any case)', 'Bob.Smith (#5)'],
      ] as const;
      for (const [key, by, who] of cases) {
        const r = await cli(['users', 'show', key]);
        expect(r.code, `${key}: ${r.stderr}`).toBe(0);
        expect(r.stderr).toBe(`"${key}" matched by ${by}: ${who}\n`);
        expect(r.stdout).toMatch(new RegExp(`^${who.split(' ')[0]} \\(obj_id`));
      }
    });

    it('the exact username and the obj_id win, quietly', async () => {
      const byName = await cli(['users', 'show', 'bob']);
      expect(byName.stdout).toMatch(/^bob \(obj_id 2\)/);
      expect(byName.stderr).toBe('');
      const byId = await cli(['users', 'show', '4', '--json']);
      expect(JSON.parse(byId.stdout).username).toBe('dave');
      expect(byId.stderr).toBe('');
    });

    it('a key several users fit lists them and shows none; no match says what was tried', async () => {
      const r = await cli(['users', 'show', 'shared@example.net']);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        'usrun: "shared@example.net" fits 2 users; give the obj_id or the exact username:\n' +
          '  #3 carol (by email)\n  #4 dave (by email)\n',
      );
      expect(r.code).toBe(2);
      const none = await cli(['users', 'show', 'zoe']);
      expect(none.stderr).toBe('usrun: no user with obj_id, username, email or external_id "zoe"\n');
      expect(none.code).toBe(2);
    });
  });

  describe('scripts', () => {
    it('a mistyped user field fails the user with a did-you-mean, as filters do', async () => {
      const script = writeFile(tmp.dir, `typo-${dialect}.js`, 'user.emial = "x@example.net";\n');
      const r = await cli(['run', script, '--filter', 'obj_id eq 1', '--dry-run']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('TypeError: user has no field "emial" (did you mean email?)');
      const far = writeFile(tmp.dir, `far-${dialect}.js`, 'user.colour = "red";\n');
      const r2 = await cli(['run', far, '--filter', 'obj_id eq 1', '--dry-run']);
      expect(r2.stderr).toContain('TypeError: user has no field "colour" (');
      expect(r2.stderr).not.toContain('did you mean');
    });

    it('a syntax error shows the line and a caret under the column, exit 2, nothing written', async () => {
      const script = writeFile(tmp.dir, `bad-${dialect}.js`, 'const a = 1;\nuser.email = a +* 2;\n');
      const before = await dumpDb(db);
      const r = await cli(['run', script, '--all', '--yes']);
      expect(r.stderr).toBe(
        `usrun: bad-${dialect}.js:2:17: SyntaxError: Unexpected token '*'\n` +
          '  user.email = a +* 2;\n' +
          '                  ^\n',
      );
      expect(r.code).toBe(2);
      expect(await dumpDb(db)).toEqual(before);
    });
  });

  describe('filters save', () => {
    it('refuses to replace a saved filter without --force, and replaces it with', async () => {
      expect((await cli(['filters', 'save', 'mine', 'is_active eq true'])).code).toBe(0);
      const again = await cli(['filters', 'save', 'mine', 'is_active eq false']);
      expect(again.stderr).toBe(
        'usrun: a filter @mine is already saved (is_active eq true); replace it with --force, or pick another name\n',
      );
      expect(again.code).toBe(2);
      expect(await dbQuery(db, "SELECT expression FROM filters WHERE name = 'mine'")).toEqual([
        { expression: 'is_active eq true' },
      ]);
      const forced = await cli(['filters', 'save', 'mine', 'is_active eq false', '--force']);
      expect(forced.code).toBe(0);
      expect(forced.stdout).toContain('filter @mine replaced');
      expect(await dbQuery(db, "SELECT expression FROM filters WHERE name = 'mine'")).toEqual([
        { expression: 'is_active eq false' },
      ]);
    });
  });

  describe('CSV', () => {
    const noop = () => writeFile(tmp.dir, `noop-${dialect}.js`, 'user.description = row.note;\n');

    it('a header holding another delimiter gets a hint naming the right --delimiter', async () => {
      const semi = writeFile(tmp.dir, `semi-${dialect}.csv`, 'username;note\nalice;x\n');
      const r = await cli(['run', noop(), '--csv', semi, '--delimiter', ',', '--dry-run']);
      expect(r.stderr).toBe(
        `usrun: ${semi}:1: the header is one column "username;note" (--delimiter , was given), but it holds ";": the file looks ;-separated; use --delimiter ';'\n`,
      );
      expect(r.code).toBe(2);
      const tab = writeFile(tmp.dir, `tab-${dialect}.csv`, 'username\tnote\nalice\tx\n');
      const t = await cli(['users', 'import', tab, '--delimiter', ';', '--dry-run']);
      expect(t.stderr).toContain('the file looks tab-separated; use --delimiter tab');
      expect(t.code).toBe(2);
    });

    it('a user named by several rows is announced once, with the lines, before the run', async () => {
      const csv = writeFile(
        tmp.dir,
        `dup-${dialect}.csv`,
        'username,note\nalice,a\nbob,b\nALICE ,c\ncarol,d\nbob,e\nalice,f\n',
      );
      const r = await cli(['run', noop(), '--csv', csv, '--dry-run']);
      expect(r.code, r.stderr).toBe(0);
      const notes = r.stderr.split('\n').filter((l) => l.includes('rows (lines'));
      expect(notes).toEqual([
        'username "alice" is in 3 rows (lines 2, 4, 7): the script runs for that user once per row',
        'username "bob" is in 2 rows (lines 3, 6): the script runs for that user once per row',
      ]);
    });
  });

  describe('--limit', () => {
    it('says how many there were: "2 of 5"', async () => {
      const list = await cli(['users', 'list', '--limit', '2']);
      expect(list.stderr).toBe('2 of 5 users (--limit 2)\n');
      const all = await cli(['users', 'list', '--limit', '5']);
      expect(all.stderr).toBe('5 users\n');
      const script = writeFile(tmp.dir, `limit-${dialect}.js`, 'user.description = "x";\n');
      const run = await cli(['run', script, '--all', '--limit', '3', '--dry-run']);
      expect(run.stderr).toContain('--limit 3: 3 of 5 users\n');
      const csv = writeFile(tmp.dir, `limit-${dialect}.csv`, 'obj_id\n1\n2\n3\n');
      const rows = await cli(['run', script, '--csv', csv, '--limit', '1', '--dry-run']);
      expect(rows.stderr).toContain('--limit 1: 1 of 3 rows\n');
    });

    it('formats big counts with separators ("3 of 1,000")', async () => {
      const big = await testStore(dialect, { demo: 1000 });
      const list = await usrun(['users', 'list', '--limit', '3', '--db', big]);
      expect(list.stderr).toBe('3 of 1,000 users (--limit 3)\n');
    });
  });
});
