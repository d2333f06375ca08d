import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { dbQuery, dumpDb } from '../helpers/db.js';
import { fixtureDb } from '../helpers/fixture-db.js';
import { DIALECTS, dropTestDbs } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { HAS_SCRIPT_PTY, runCliInPty } from '../helpers/pty.js';
import { addMembership, addProfiles, addUsers, runJson, writeFile } from '../helpers/run-fixtures.js';

/** SPEC §6 (and the journal of §5) through the CLI: --json, human output, colors, exit codes. */

const KEY = 'a1'.repeat(32);
const SGR = /\x1b\[[0-9;]*m/; // eslint-disable-line no-control-regex
const ANY_ESCAPE = /\x1b/; // eslint-disable-line no-control-regex

const tmp = tempDir('usrun-output-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

describe.each(DIALECTS)('%s', (dialect) => {
  let outScript = '';
  let rowsCsv = '';

  const freshDb = fixtureDb(dialect, async (template) => {
    await addProfiles(template, [
      [1, 'aaa-01', 'Basic'],
      [2, 'gold', 'Gold'],
    ]);
    await addUsers(template, [
      { obj_id: 1, username: 'alice', email: 'Alice@Example.org' },
      { obj_id: 2, username: 'bob', email: 'bob@example.org' },
      { obj_id: 3, username: 'carol', email: 'Carol@Example.org' },
      { obj_id: 4, username: 'dave', email: 'Dave@Example.org' },
      { obj_id: 5, username: 'erin', email: 'erin@example.org' },
    ]);
    for (const id of [1, 2, 3, 4, 5]) await addMembership(template, id, 1);
    await dbQuery(
      template,
      `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at) VALUES (1, 'plan', '"silver"', ?, NULL, ?, ?)`,
      [false, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
    );
    outScript = writeFile(
      tmp.dir,
      'out.js',
      `if (user.username === 'carol') skip('carol is special');
if (user.username === 'dave') throw new Error('dave breaks');
console.log('seen ' + user.username);
if (user.email !== user.email.toLowerCase()) user.email = user.email.toLowerCase();
`,
    );
    // One row of each status: changed, unchanged, skipped, failed, not_found.
    rowsCsv = writeFile(tmp.dir, 'rows.csv', 'username,note\nalice,a\nbob,b\ncarol,c\ndave,d\nnobody,n\n');
  });

  const ITEM_KEYS = ['changes', 'error', 'logs', 'notes', 'row', 'status', 'user_id', 'username'];
  const COUNT_KEYS = ['selected', 'changed', 'unchanged', 'skipped', 'failed', 'not_found'] as const;

  describe('--json', () => {
    it('prints one parseable object per row with exactly the documented keys, then the summary, and nothing else', async () => {
      const db = await freshDb();
      const r = await usrun(['run', outScript, '--db', db, '--csv', rowsCsv, '--json']);
      expect(r.code).toBe(1);
      expect(r.stdout.endsWith('\n')).toBe(true);
      const lines = r.stdout.slice(0, -1).split('\n');
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, any>); // every line parses
      expect(parsed).toHaveLength(6);
      const items = parsed.slice(0, 5);
      for (const item of items) expect(Object.keys(item).sort()).toEqual(ITEM_KEYS);
      expect(items.map((i) => [i['user_id'], i['username'], i['status']])).toEqual([
        [1, 'alice', 'changed'],
        [2, 'bob', 'unchanged'],
        [3, 'carol', 'skipped'],
        [4, 'dave', 'failed'],
        [null, null, 'not_found'],
      ]);
      expect(items.map((i) => i['row'])).toEqual(
        ['a', 'b', 'c', 'd', 'n'].map((note, k) => ({
          username: ['alice', 'bob', 'carol', 'dave', 'nobody'][k],
          note,
        })),
      );
      expect(items[0]).toMatchObject({ logs: ['seen alice'], error: null });
      expect(items[0]?.['changes']).toContainEqual(
        expect.objectContaining({
          kind: 'field',
          target: 'email',
          before: 'Alice@Example.org',
          after: 'alice@example.org',
        }),
      );
      expect(items[1]).toMatchObject({ changes: [], logs: ['seen bob'], error: null });
      expect(items[2]).toMatchObject({ changes: [], error: { message: 'carol is special' } });
      expect(items[3]).toMatchObject({
        changes: [],
        error: { message: 'Error: dave breaks', location: 'out.js:2:37' },
      });
      expect(items[4]?.['error']['message']).toContain('nobody');

      const last = parsed[5] as Record<string, any>;
      expect(Object.keys(last)).toEqual(['summary']);
      const summary = last['summary'] as Record<string, unknown>;
      expect(summary).toMatchObject({
        selected: 5,
        changed: 1,
        unchanged: 1,
        skipped: 1,
        failed: 1,
        not_found: 1,
      });
      expect(Object.keys(summary)).toEqual(expect.arrayContaining([...COUNT_KEYS, 'run_id']));
      expect(await dbQuery(db, 'SELECT id FROM runs')).toEqual([{ id: summary['run_id'] }]);
    });
  });

  describe('human output', () => {
    it('reports failures (message and location) and not-found rows on stderr, and closes with the summary', async () => {
      const db = await freshDb();
      const r = await usrun(['run', outScript, '--db', db, '--csv', rowsCsv]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^.*dave \(#4\).*: Error: dave breaks \(out\.js:2:37\)$/m);
      expect(r.stderr).toMatch(/nobody/);
      expect(r.stdout).not.toContain('dave breaks');
      const all = r.stdout + r.stderr;
      const [runRow] = await dbQuery<{ id: number }>(db, 'SELECT id FROM runs');
      expect(all).toMatch(
        new RegExp(
          `run ${runRow?.id} completed: 5 selected, 1 changed, 1 unchanged, 1 skipped, 1 failed, 1 not found — [\\d.]+s, \\d+ users/s`,
        ),
      );
      expect(all).not.toMatch(ANY_ESCAPE); // no TTY, NO_COLOR: plain text
      // `runs list` keeps failed and not found apart, as the summary does.
      const list = await usrun(['runs', 'list', '--db', db]);
      expect(list.stdout).toMatch(/^RUN .*\bCHANGED +FAILED +NOT FOUND +BY\b/m);
      expect(list.stdout).toMatch(new RegExp(`^${runRow?.id} .* completed +5 +1 +1 +1 +\\S+@`, 'm'));
    });

    it.skipIf(!HAS_SCRIPT_PTY)('colors only on a terminal, and never with NO_COLOR', async () => {
      const db = await freshDb();
      const before = await dumpDb(db);
      const args = ['run', outScript, '--db', db, '--filter', 'username ne "dave"', '--dry-run'];
      const colored = await runCliInPty(args);
      expect(colored.code).toBe(0);
      expect(colored.stdout).toContain('dry run');
      expect(colored.stdout).toMatch(SGR); // the control: a terminal gets colors
      const plain = await runCliInPty(args, { env: { NO_COLOR: '1' } });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain('dry run');
      expect(plain.stdout).toContain('email: "Alice@Example.org" → "alice@example.org"');
      expect(plain.stdout).not.toMatch(SGR);
      expect(await dumpDb(db)).toEqual(before);
    });

    it.skipIf(!HAS_SCRIPT_PTY)(
      'on a terminal, a real run over several users asks first; "n" changes nothing',
      async () => {
        const db = await freshDb();
        const before = await dumpDb(db);
        const r = await runCliInPty(['run', outScript, '--db', db, '--filter', 'username ne "dave"'], {
          input: 'n\n',
          env: { NO_COLOR: '1' },
        });
        expect(r.stdout).toMatch(/About to change up to 4 users .*\[y\/N\]/);
        expect(r.code).toBe(1); // declined: not a usage error (2)
        expect(await dumpDb(db)).toEqual(before);
      },
    );
  });

  describe('exit codes', () => {
    it('0 when every item is changed, unchanged or skipped; 1 when one failed or was not found', async () => {
      const db = await freshDb();
      const ok = await usrun(['run', outScript, '--db', db, '--filter', 'username ne "dave"']);
      expect(ok.stderr).toBe('');
      // A skipped user is shown with its reason (live, then grouped), not hidden.
      expect(ok.stdout).toMatch(/^- skipped carol \(#3\): carol is special$/m);
      expect(ok.code).toBe(0);
      const failed = await usrun(['run', outScript, '--db', db, '--filter', 'username eq "dave"']);
      expect(failed.code).toBe(1);
      const notFound = await usrun([
        'run',
        outScript,
        '--db',
        db,
        '--csv',
        writeFile(tmp.dir, 'nf.csv', 'username\nbob\nnobody\n'),
      ]);
      expect(notFound.code).toBe(1);
      expect(await dbQuery(db, 'SELECT status FROM runs ORDER BY id')).toEqual([
        { status: 'completed' },
        { status: 'completed' },
        { status: 'completed' },
      ]);
    });

    it('2 for bad usage, with a message on stderr, and nothing written (not even a runs row)', async () => {
      const db = await freshDb();
      const before = await dumpDb(db);
      const cases: [string[], RegExp][] = [
        [['run', outScript], /--filter|--csv|--all/],
        [['run', outScript, '--all', '--filter', 'obj_id eq 1'], /--all/],
        [['run', outScript, '--all', '--csv', rowsCsv], /--all/],
        [['run', outScript, '--all', '--frobnicate'], /frobnicate/],
        [['run', outScript, '--all', '--timeout', 'soon'], /--timeout/],
        [['run', join(tmp.dir, 'no-such-script.js'), '--all'], /no-such-script\.js/],
        [['run', outScript, '--csv', join(tmp.dir, 'no-such.csv')], /no-such\.csv/],
        [['run', outScript, '--filter', 'emial eq "x"'], /emial/],
        [['run', '--all'], /script/i],
      ];
      for (const [args, message] of cases) {
        const r = await usrun([...args, '--db', db]);
        expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
        expect(r.stderr).toMatch(message);
        expect(r.stdout).toBe('');
      }
      expect(await dumpDb(db)).toEqual(before);
    });

    it('2 for a script that does not compile: file:line:col, before any user runs', async () => {
      const db = await freshDb();
      const before = await dumpDb(db);
      const broken = writeFile(
        tmp.dir,
        'broken.js',
        "user.description = 'x';\nconst a = 1;\nlet c = a +* 2;\n",
      );
      const r = await usrun(['run', broken, '--db', db, '--all']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/broken\.js:3:12\b.*SyntaxError/);
      expect(r.stdout).toBe('');
      // A body that tries to close the function it is wrapped in is a syntax error too.
      const escape = writeFile(tmp.dir, 'unwrap.js', "}); user.description = 'escaped'; (function () {\n");
      const r2 = await usrun(['run', escape, '--db', db, '--all', '--json']);
      expect(r2.code).toBe(2);
      expect(r2.stderr).toMatch(/unwrap\.js:1:\d+/);
      expect(r2.stdout).toBe('');
      expect(await dumpDb(db)).toEqual(before);
    });

    it('2 for a script that encrypts or reads encrypted attrs with no key, before any user runs (SPEC §4)', async () => {
      const db = await freshDb();
      await dbQuery(
        db,
        `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at) VALUES (2, 'secret', 'v1.AAAA', ?, NULL, ?, ?)`,
        [true, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
      );
      const before = await dumpDb(db);
      const scripts = [
        // The seed's signature: set(name, value, expiration, encrypt), positionally.
        writeFile(tmp.dir, 'encrypt-positional.js', "user.attr.set('secret', 'hunter2', null, true);\n"),
        writeFile(
          tmp.dir,
          'encrypt-named.js',
          "user.attr.set_many([{ name: 'secret', value: 'hunter2', encrypt: true }]);\n",
        ),
        writeFile(
          tmp.dir,
          'read-aliased.js',
          "const attrs = user.attr;\nconsole.log(attrs.get('secret'));\n",
        ),
      ];
      const results = [];
      for (const script of scripts) {
        const r = await usrun(['run', script, '--db', db, '--filter', 'obj_id le 2']);
        results.push([script.slice(tmp.dir.length + 1), r.code, /USRUN_KEY|--key-file/.test(r.stderr)]);
      }
      expect(results).toEqual(scripts.map((s) => [s.slice(tmp.dir.length + 1), 2, true]));
      expect(await dumpDb(db)).toEqual(before);
    });
  });

  describe('--dry-run and the journal', () => {
    const diffSource = `user.email = user.email.toLowerCase();
user.profile_add('gold');
user.attribute_add('Session-Timeout', 3600, ':=');
if (user.obj_id === 1) user.attr.set('plan', 'gold');
user.attr.set_many([{ name: 'secret', value: 'hunter2', encrypt: true }]);
if (user.obj_id === 4) throw new Error('not dave');
`;

    it('--dry-run writes nothing at all, journal included, and prints each changed user’s diff', async () => {
      const db = await freshDb();
      const script = writeFile(tmp.dir, 'diff.js', diffSource);
      const before = await dumpDb(db);
      const r = await usrun(['run', script, '--db', db, '--filter', 'obj_id le 4', '--dry-run'], {
        env: { USRUN_KEY: KEY },
      });
      expect(r.code).toBe(1);
      expect(await dumpDb(db)).toEqual(before);
      const lines = r.stdout.split('\n');
      const alice = lines.indexOf('alice (#1)');
      expect(alice).toBeGreaterThan(-1);
      expect(lines.slice(alice + 1, alice + 6).sort()).toEqual(
        [
          '  email: "Alice@Example.org" → "alice@example.org"',
          '  + profile gold',
          '  + reply Session-Timeout := 3600',
          '  ~ attr plan: "silver" → "gold"',
          '  + attr secret = <encrypted>',
        ].sort(),
      );
      expect(lines).toContain('bob (#2)');
      expect(r.stdout).not.toMatch(/dave \(#4\)\n/);
      expect(r.stdout).toMatch(
        /^dry run \(nothing written\): 4 selected, 3 would change, 0 unchanged, 0 skipped, 1 failed, 0 not found/m,
      );
      expect(r.stdout + r.stderr).not.toContain('hunter2');
      expect(r.stdout).not.toContain('last_update'); // set by usrun, not part of the script's diff
    });

    it('a real run journals the script, the selection and every item and change, matching the summary', async () => {
      const db = await freshDb();
      const script = writeFile(tmp.dir, 'journal.js', diffSource);
      const run = await runJson(
        ['run', script, '--db', db, '--filter', 'obj_id le 4', '--param', 'why=test'],
        {
          env: { USRUN_KEY: KEY },
        },
      );
      expect(run.code).toBe(1);
      const runId = run.summary['run_id'] as number;
      const [journal] = await dbQuery<Record<string, any>>(db, 'SELECT * FROM runs');
      expect(journal).toMatchObject({
        id: runId,
        kind: 'run',
        status: 'completed',
        script_text: diffSource,
        script_path: script,
      });
      expect(journal?.['script_sha256']).toBe(
        createHash('sha256').update(readFileSync(script)).digest('hex'),
      );
      expect(JSON.parse(journal?.['params'] as string)).toEqual({ why: 'test' });
      expect(JSON.parse(journal?.['selection'] as string)).toMatchObject({ filter: 'obj_id le 4' });
      expect(journal?.['finished_at'] >= journal?.['started_at']).toBe(true);
      const counts = JSON.parse(journal?.['counts'] as string) as Record<string, number>;
      for (const key of COUNT_KEYS) expect([key, counts[key]]).toEqual([key, run.summary[key]]);
      expect(run.summary).toMatchObject({ selected: 4, changed: 3, failed: 1 });

      const items = await dbQuery<{ seq: number; user_id: number; status: string }>(
        db,
        'SELECT seq, user_id, status FROM run_items WHERE run_id = ? ORDER BY seq',
        [runId],
      );
      expect(items.map((i) => [i.user_id, i.status])).toEqual(
        run.items.map((i) => [i['user_id'], i['status']]),
      );
      const changes = await dbQuery<{ user_id: number; n: number }>(
        db,
        'SELECT user_id, count(*) AS n FROM run_changes WHERE run_id = ? GROUP BY user_id ORDER BY user_id',
        [runId],
      );
      expect(changes).toEqual(
        run.items
          .filter((i) => i['changes'].length > 0)
          .map((i) => ({ user_id: i['user_id'], n: i['changes'].length })),
      );
      // Encrypted values are journaled as ciphertext, never in clear.
      expect(JSON.stringify(await dbQuery(db, 'SELECT * FROM run_changes'))).not.toContain('hunter2');
      expect(JSON.stringify(await dbQuery(db, 'SELECT * FROM user_attrs'))).not.toContain('hunter2');
      expect(
        await dbQuery(
          db,
          "SELECT user_id FROM user_attrs WHERE name = 'secret' AND is_encrypted = ? ORDER BY user_id",
          [true],
        ),
      ).toEqual([{ user_id: 1 }, { user_id: 2 }, { user_id: 3 }]);
    });
  });
});
