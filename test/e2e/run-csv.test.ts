import { isAbsolute, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { dbQuery, dumpDb } from '../helpers/db.js';
import { fixtureDb } from '../helpers/fixture-db.js';
import { DIALECTS, dropTestDbs } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { addUsers, runJson, userRows, writeFile } from '../helpers/run-fixtures.js';

/** SPEC §3 (CSV) through `usrun run --csv`: what a row picks, and what a bad file does. */

const tmp = tempDir('usrun-csv-');
let script = '';
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

describe.each(DIALECTS)('%s', (dialect) => {
  const freshDb = fixtureDb(dialect, async (template) => {
    await addUsers(template, [
      { obj_id: 1, username: 'alice', email: 'alice@example.org', external_id: 'EXT-1', klass: 'staff' },
      { obj_id: 2, username: 'bob', email: 'Bob@Example.org', external_id: 'EXT-2', klass: 'residential' },
      { obj_id: 3, username: 'carol', email: 'shared@example.org', klass: 'residential' },
      { obj_id: 4, username: 'dave', email: 'shared@example.org', klass: 'residential' },
      { obj_id: 5, username: 'erin', email: 'erin@example.org', klass: 'staff' },
    ]);
    // Appends the row's note to the description, and logs the row the script sees.
    script = writeFile(
      tmp.dir,
      'note.js',
      "console.log(JSON.stringify(row));\nuser.description = (user.description ?? '') + '[' + row.note + ']';\n",
    );
  });

  const descriptions = async (db: string) =>
    Object.fromEntries(
      (
        await dbQuery<{ username: string; description: string | null }>(
          db,
          'SELECT username, description FROM users ORDER BY obj_id',
        )
      ).map((u) => [u.username, u.description]),
    );
  const untouched = { alice: null, bob: null, carol: null, dave: null, erin: null };

  describe('usrun run --csv: file formats', () => {
    it('accepts a UTF-8 BOM, CRLF line ends and quoted fields with commas, quotes and newlines', async () => {
      const db = await freshDb();
      const csv = writeFile(
        tmp.dir,
        'bom.csv',
        '\uFEFFusername,note\r\nalice,"two\nlines, one comma"\r\nbob,"say ""hi"" — ünïcödé"\r\n',
      );
      const run = await runJson(['run', script, '--db', db, '--csv', csv]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.items.map((i) => i['row'])).toEqual([
        { username: 'alice', note: 'two\nlines, one comma' },
        { username: 'bob', note: 'say "hi" — ünïcödé' },
      ]);
      // The script sees exactly the same row (no BOM in the first column's name).
      expect(run.items.map((i) => JSON.parse((i['logs'] as string[])[0] as string) as unknown)).toEqual(
        run.items.map((i) => i['row']),
      );
      expect(await descriptions(db)).toEqual({
        ...untouched,
        alice: '[two\nlines, one comma]',
        bob: '[say "hi" — ünïcödé]',
      });
    });

    it('detects a ; delimiter, and takes --delimiter tab', async () => {
      const db = await freshDb();
      const semi = writeFile(tmp.dir, 'semi.csv', 'obj_id;note\n1;a,b\n2;c\n');
      const first = await runJson(['run', script, '--db', db, '--csv', semi]);
      expect(first.code).toBe(0);
      expect(first.items.map((i) => [i['user_id'], i['row']])).toEqual([
        [1, { obj_id: '1', note: 'a,b' }],
        [2, { obj_id: '2', note: 'c' }],
      ]);
      const tab = writeFile(tmp.dir, 'tab.tsv', 'username\tnote\ncarol\tx, y; z\n');
      const second = await runJson(['run', script, '--db', db, '--csv', tab, '--delimiter', 'tab']);
      expect(second.code).toBe(0);
      expect(second.items.map((i) => [i['user_id'], i['row']])).toEqual([
        [3, { username: 'carol', note: 'x, y; z' }],
      ]);
      expect(await descriptions(db)).toEqual({
        ...untouched,
        alice: '[a,b]',
        bob: '[c]',
        carol: '[x, y; z]',
      });
    });
  });

  describe('usrun run --csv: matching rows to users', () => {
    it('--match email picks the key column (case-insensitively) instead of the first known one', async () => {
      const db = await freshDb();
      const csv = writeFile(
        tmp.dir,
        'by-email.csv',
        'username,email,note\nnot-a-user,BOB@example.ORG,by email\n',
      );
      const byUsername = await runJson(['run', script, '--db', db, '--csv', csv]);
      expect(byUsername.code).toBe(1);
      expect(byUsername.items.map((i) => i['status'])).toEqual(['not_found']);
      const byEmail = await runJson(['run', script, '--db', db, '--csv', csv, '--match', 'email']);
      expect(byEmail.code).toBe(0);
      expect(byEmail.items.map((i) => [i['user_id'], i['username'], i['status']])).toEqual([
        [2, 'bob', 'changed'],
      ]);
      expect(await descriptions(db)).toEqual({ ...untouched, bob: '[by email]' });
    });

    it('without --match, the key is the first of obj_id, username, email, external_id present, wherever it stands', async () => {
      const db = await freshDb();
      // external_id EXT-2 is bob's, but email outranks external_id: the row is alice's.
      const csv = writeFile(
        tmp.dir,
        'priority.csv',
        'external_id,email,note\nEXT-2,alice@example.org,by email\n',
      );
      const run = await runJson(['run', script, '--db', db, '--csv', csv]);
      expect(run.code).toBe(0);
      expect(run.items.map((i) => [i['user_id'], i['status']])).toEqual([[1, 'changed']]);
      expect(await descriptions(db)).toEqual({ ...untouched, alice: '[by email]' });
    });

    it('runs rows in file order: an unknown user is not_found (exit 1); two rows for one user apply in order', async () => {
      const db = await freshDb();
      const csv = writeFile(
        tmp.dir,
        'order.csv',
        'username,note\nalice,first\nnobody.here,lost\nALICE,second\nbob,only\n',
      );
      const run = await runJson(['run', script, '--db', db, '--csv', csv]);
      expect(run.code).toBe(1);
      expect(run.items.map((i) => [i['user_id'], i['status']])).toEqual([
        [1, 'changed'],
        [null, 'not_found'],
        [1, 'changed'],
        [2, 'changed'],
      ]);
      const lost = run.items[1] as Record<string, any>;
      expect(lost).toMatchObject({
        username: null,
        row: { username: 'nobody.here', note: 'lost' },
        changes: [],
        logs: [],
      });
      expect(lost['error']['message']).toContain('nobody.here');
      // The second row for alice saw what the first one committed.
      const second = (
        run.items[2]?.['changes'] as { target: string; before: unknown; after: unknown }[]
      ).find((c) => c.target === 'description');
      expect(second).toMatchObject({ before: '[first]', after: '[first][second]' });
      expect(await descriptions(db)).toEqual({ ...untouched, alice: '[first][second]', bob: '[only]' });
      expect(run.summary).toMatchObject({ selected: 4, changed: 3, not_found: 1 });
      expect(await dbQuery(db, 'SELECT seq, user_id, status FROM run_items ORDER BY seq')).toEqual([
        { seq: 0, user_id: 1, status: 'changed' },
        { seq: 1, user_id: null, status: 'not_found' },
        { seq: 2, user_id: 1, status: 'changed' },
        { seq: 3, user_id: 2, status: 'changed' },
      ]);
    });

    it('--dry-run previews two rows for one user as the real run applies them (the second sees the first)', async () => {
      const db = await freshDb();
      const csv = writeFile(tmp.dir, 'twice.csv', 'username,note\nalice,first\nalice,second\n');
      const before = await dumpDb(db);
      const dry = await runJson(['run', script, '--db', db, '--csv', csv, '--dry-run']);
      expect(await dumpDb(db)).toEqual(before);
      const real = await runJson(['run', script, '--db', db, '--csv', csv]);
      expect(await descriptions(db)).toEqual({ ...untouched, alice: '[first][second]' });
      const descriptionChange = (run: typeof dry) =>
        run.items.map((i) =>
          (i['changes'] as { target: string; before: unknown; after: unknown }[]).find(
            (c) => c.target === 'description',
          ),
        );
      expect(descriptionChange(real)).toEqual([
        expect.objectContaining({ before: null, after: '[first]' }),
        expect.objectContaining({ before: '[first]', after: '[first][second]' }),
      ]);
      // What the dry run announced for the second row is what the real run wrote.
      expect(descriptionChange(dry)).toEqual(
        descriptionChange(real).map((c) => expect.objectContaining({ before: c?.before, after: c?.after })),
      );
    });

    it('an email shared by two users fails that row with a message; the other rows run', async () => {
      const db = await freshDb();
      const csv = writeFile(tmp.dir, 'shared.csv', 'email,note\nshared@example.org,x\nalice@example.org,y\n');
      const before = await Promise.all([3, 4].map((id) => userRows(db, id)));
      const run = await runJson(['run', script, '--db', db, '--csv', csv]);
      expect(run.code).toBe(1);
      expect(run.items.map((i) => i['status'])).toEqual(['failed', 'changed']);
      const message = run.items[0]?.['error']['message'] as string;
      expect(message).toContain('shared@example.org');
      expect(message).toMatch(/\b2 users\b/);
      expect(await Promise.all([3, 4].map((id) => userRows(db, id)))).toEqual(before);
      expect(await descriptions(db)).toEqual({ ...untouched, alice: '[y]' });
    });

    it('with --filter, a row whose user does not match is skipped', async () => {
      const db = await freshDb();
      const csv = writeFile(tmp.dir, 'filtered.csv', 'username,note\nalice,a\nbob,b\nerin,e\n');
      const run = await runJson(['run', script, '--db', db, '--csv', csv, '--filter', 'klass eq "staff"']);
      expect(run.code).toBe(0);
      expect(run.items.map((i) => [i['user_id'], i['status']])).toEqual([
        [1, 'changed'],
        [2, 'skipped'],
        [5, 'changed'],
      ]);
      expect(run.items[1]?.['row']).toEqual({ username: 'bob', note: 'b' });
      expect(run.summary).toMatchObject({ selected: 3, changed: 2, skipped: 1 });
      expect(await descriptions(db)).toEqual({ ...untouched, alice: '[a]', erin: '[e]' });
    });

    it('--limit caps the rows', async () => {
      const db = await freshDb();
      const csv = writeFile(tmp.dir, 'limit.csv', 'obj_id,note\n5,e\n1,a\n2,b\n3,c\n');
      const run = await runJson(['run', script, '--db', db, '--csv', csv, '--limit', '2']);
      expect(run.code).toBe(0);
      expect(run.items.map((i) => i['user_id'])).toEqual([5, 1]);
      expect(await descriptions(db)).toEqual({ ...untouched, erin: '[e]', alice: '[a]' });
    });

    it('journals the file by its absolute path, so a resume or a --join from another directory finds it', async () => {
      const db = await freshDb();
      const csv = writeFile(tmp.dir, 'where.csv', 'obj_id,note\n1,a\n');
      const given = relative(process.cwd(), csv);
      expect(isAbsolute(given)).toBe(false);
      expect((await usrun(['run', script, '--db', db, '--csv', given, '--yes'])).code).toBe(0);
      const [run] = await dbQuery<{ selection: string }>(db, 'SELECT selection FROM runs');
      expect(JSON.parse(String(run?.selection))).toMatchObject({ csv });
    });
  });

  describe('usrun run --csv: bad files fail before anything is written', () => {
    it('no key column: exit 2, the usable columns named, nothing written', async () => {
      const db = await freshDb();
      const csv = writeFile(tmp.dir, 'nokey.csv', 'login,note\nalice,a\n');
      const before = await dumpDb(db);
      const r = await usrun(['run', script, '--db', db, '--csv', csv]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('nokey.csv');
      for (const column of ['obj_id', 'username', 'email', 'external_id', '--match'])
        expect(r.stderr).toContain(column);
      expect(await dumpDb(db)).toEqual(before);
      const unknownMatch = await usrun(['run', script, '--db', db, '--csv', csv, '--match', 'nope']);
      expect(unknownMatch.code).toBe(2);
      expect(unknownMatch.stderr).toContain('nope');
      expect(await dumpDb(db)).toEqual(before);
    });

    it('a row with more fields than the header: exit 2 naming the line, nothing written', async () => {
      const db = await freshDb();
      const csv = writeFile(tmp.dir, 'ragged.csv', 'username,note\nalice,ok\nbob,one,two\n');
      const before = await dumpDb(db);
      const r = await usrun(['run', script, '--db', db, '--csv', csv]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/ragged\.csv:3\b/);
      expect(await dumpDb(db)).toEqual(before);
    });

    it('an unclosed quote: exit 2 naming the line, nothing written (not even for the rows before it)', async () => {
      const db = await freshDb();
      const csv = writeFile(tmp.dir, 'broken.csv', 'username,note\nalice,ok\nbob,"unclosed\ncarol,x\n');
      const before = await dumpDb(db);
      const r = await usrun(['run', script, '--db', db, '--csv', csv]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/broken\.csv:3\b/);
      expect(await dumpDb(db)).toEqual(before);
      // The same with --json: still nothing on stdout but the error on stderr.
      const json = await usrun(['run', script, '--db', db, '--csv', csv, '--json']);
      expect(json.code).toBe(2);
      expect(json.stdout).toBe('');
      expect(await dumpDb(db)).toEqual(before);
    });
  });
});
