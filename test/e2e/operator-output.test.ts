import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ndjson, tempDir } from '../helpers/cli.js';
import { dbQuery } from '../helpers/db.js';
import { fixtureDb } from '../helpers/fixture-db.js';
import { DIALECTS, dropTestDbs } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { HAS_SCRIPT_PTY, runCliInPty } from '../helpers/pty.js';
import { addProfiles, addUsers, writeFile } from '../helpers/run-fixtures.js';

/**
 * What an operator sees of a run (issue 10): calls with no effect, skips and 0-user selections
 * are said out loud; failures are grouped by message and location live, in the summary and in
 * `runs show` (with paging); a run exports as CSV; its failed items run again as a new run; the
 * journal prints the script that ran; a resume tells its own rate from the run's totals.
 */

const tmp = tempDir('usrun-operator-output-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

const USERS = 30;
const name = (id: number) => `u${String(id).padStart(2, '0')}`;

describe.each(DIALECTS)('%s', (dialect) => {
  const freshDb = fixtureDb(dialect, async (template) => {
    await addProfiles(template, [
      [1, 'gold', 'Gold'],
      [2, 'silver', 'Silver'],
    ]);
    await addUsers(
      template,
      Array.from({ length: USERS }, (_, i) => ({ obj_id: i + 1, username: name(i + 1) })),
    );
  });

  const runsCount = async (db: string) =>
    Number((await dbQuery(db, 'SELECT count(*) AS n FROM runs'))[0]?.['n']);

  describe('nothing silent', () => {
    it('a call with no effect is shown live, grouped in the summary, journaled and in --json', async () => {
      const db = await freshDb();
      const script = writeFile(tmp.dir, 'noop.js', 'user.profile_add("gld");\n');
      const r = await usrun(['run', script, '--db', db, '--filter', 'obj_id le 5']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^! no effect u01 \(#1\): no profile with short_name gld \(noop\.js:1:6\)$/m);
      expect(r.stdout).toContain(
        'calls with no effect (5 users):\n  5 × no profile with short_name gld (noop.js:1:6)\n      e.g. u01 (#1); u02 (#2); u03 (#3) … and 2 more like this\n',
      );
      expect(r.stdout).toMatch(
        /^run 1 completed: 5 selected, 0 changed, 5 unchanged, 0 skipped, 0 failed, 0 not found, 5 with calls that had no effect — /m,
      );
      const rows = await dbQuery(db, 'SELECT notes FROM run_items WHERE run_id = 1 ORDER BY seq');
      expect(rows.map((row) => JSON.parse(String(row['notes'])))).toEqual(
        Array(5).fill([{ message: 'no profile with short_name gld', location: 'noop.js:1:6' }]),
      );
      const shown = await usrun(['runs', 'show', '1', '--db', db]);
      expect(shown.stdout).toContain('  5 × no profile with short_name gld (noop.js:1:6)');

      const json = await usrun(['run', script, '--db', db, '--filter', 'obj_id eq 1', '--json']);
      const [item, end] = ndjson(json.stdout);
      expect(item?.['notes']).toEqual([
        { message: 'no profile with short_name gld', location: 'noop.js:1:6' },
      ]);
      expect(end?.['summary']).toMatchObject({ no_effect: 1, groups: [{ kind: 'no_effect', count: 1 }] });
    });

    it('a call repeated in a loop is one note; past 20 notes a user gets a count of the rest', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'loop.js',
        "for (let i = 0; i < 5; i++) user.profile_add('gld');\nfor (let i = 0; i < 30; i++) user.profile_remove('p' + i);\n",
      );
      const r = await usrun(['run', script, '--db', db, '--filter', 'obj_id eq 1', '--json']);
      const notes = ndjson(r.stdout)[0]?.['notes'] as { message: string; location?: string }[];
      expect(notes).toHaveLength(21);
      expect(notes[0]).toEqual({ message: 'no profile with short_name gld', location: 'loop.js:1:34' });
      expect(notes[1]).toEqual({ message: 'no profile with short_name p0', location: 'loop.js:2:35' });
      expect(notes[20]).toEqual({ message: '… 11 more calls with no effect' });
    });

    it('skipped users are shown with their reason, grouped in the summary', async () => {
      const db = await freshDb();
      const script = writeFile(tmp.dir, 'skip.js', "skip('not in scope');\n");
      const r = await usrun(['run', script, '--db', db, '--all']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^- skipped u01 \(#1\): not in scope$/m);
      expect(r.stdout).toContain('skipped (30 items):\n  30 × not in scope\n');
      expect(r.stdout).toContain('… and 27 more like this');
    });

    it('a filter naming an unknown profile says so (run and users list); a run over 0 users writes no journal entry', async () => {
      const db = await freshDb();
      const script = writeFile(tmp.dir, 'any.js', "user.description = 'x';\n");
      const r = await usrun(['run', script, '--db', db, '--filter', 'profiles[short_name eq "gld"]']);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        'usrun: warning: the filter names profile "gld", which does not exist (profiles: gold, silver); no user can match it',
      );
      expect(r.stdout).toBe('nothing to do: the selection matched 0 users; nothing was run or written\n');
      const listed = await usrun(['users', 'list', '--db', db, '--filter', 'profiles[short_name eq "gld"]']);
      expect(listed.code).toBe(0);
      expect(listed.stderr).toContain(
        'usrun: warning: the filter names profile "gld", which does not exist (profiles: gold, silver); no user can match it',
      );
      // Filters compare short_name case-insensitively: "GOLD" is gold, no warning.
      const upper = await usrun(['users', 'list', '--db', db, '--filter', 'profiles[short_name eq "GOLD"]']);
      expect(upper.code).toBe(0);
      expect(upper.stderr).toBe('0 users\n');
      const none = await usrun(['run', script, '--db', db, '--filter', 'username eq "nobody"', '--json']);
      expect(none.code).toBe(0);
      expect(ndjson(none.stdout)).toEqual([
        { summary: expect.objectContaining({ selected: 0, run_id: null, status: 'nothing to do' }) },
      ]);
      expect(await runsCount(db)).toBe(0);
    });

    it("--verbose shows every user's console lines live, whatever became of the user", async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'talk.js',
        "console.log('looking at', user.username);\nif (user.obj_id === 2) skip('no');\nif (user.obj_id === 3) user.description = 'x';\n",
      );
      const quiet = await usrun(['run', script, '--db', db, '--filter', 'obj_id le 3', '--dry-run']);
      expect(quiet.stdout).not.toContain('looking at u01');
      const r = await usrun(['run', script, '--db', db, '--filter', 'obj_id le 3', '--verbose']);
      expect(r.stdout).toContain('u01 (#1) unchanged\n  log: looking at u01\n');
      expect(r.stdout).toContain('- skipped u02 (#2): no\n    looking at u02\n');
      expect(r.stdout).toMatch(/u03 \(#3\)\n {2}description: null → "x"\n {2}log: looking at u03\n/);
    });
  });

  describe('output that scales', () => {
    const failing = () =>
      writeFile(
        tmp.dir,
        'fail.js',
        "if (user.obj_id > 25) throw new Error('other');\nthrow new Error('same for all');\n",
      );

    it('prints the first 3 failures of a kind live, then "… more like this" once; the summary counts them', async () => {
      const db = await freshDb();
      const r = await usrun(['run', failing(), '--db', db, '--all']);
      expect(r.code).toBe(1);
      const live = r.stderr.split('\n').filter((l) => l.startsWith('✗ failed'));
      expect(live).toEqual([
        '✗ failed u01 (#1): Error: same for all (fail.js:2:7)',
        '✗ failed u02 (#2): Error: same for all (fail.js:2:7)',
        '✗ failed u03 (#3): Error: same for all (fail.js:2:7)',
        '✗ failed u26 (#26): Error: other (fail.js:1:29)',
        '✗ failed u27 (#27): Error: other (fail.js:1:29)',
        '✗ failed u28 (#28): Error: other (fail.js:1:29)',
      ]);
      expect(r.stderr.match(/more like this \(Error: same for all\)/g)).toHaveLength(1);
      expect(r.stderr).toContain(
        'failed (30 items):\n  25 × Error: same for all (fail.js:2:7)\n      e.g. u01 (#1); u02 (#2); u03 (#3) … and 22 more like this\n  5 × Error: other (fail.js:1:29)\n',
      );
      expect(r.stderr.split('\n').length).toBeLessThan(20);
    });

    it('runs show groups failures and pages items (--limit, --page, --offset, --status)', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'half.js',
        "if (user.obj_id % 2 === 0) throw new Error('even');\nuser.description = 'odd';\n",
      );
      await usrun(['run', script, '--db', db, '--all']);
      const shown = await usrun(['runs', 'show', '1', '--db', db, '--limit', '4']);
      expect(shown.code).toBe(0);
      const lines = shown.stdout.split('\n');
      expect(shown.stdout).toContain('failed (15 items):\n  15 × Error: even (half.js:1:34)\n');
      expect(lines.filter((l) => l.startsWith('failed u'))).toEqual([]);
      expect(lines.filter((l) => l.startsWith('changed u'))).toEqual([
        'changed u01 (#1)',
        'changed u03 (#3)',
        'changed u05 (#5)',
        'changed u07 (#7)',
      ]);
      expect(shown.stdout).toContain('changed items 1–4 of 15; next: usrun runs show 1 --page 2 --limit 4');
      const page = await usrun([
        'runs',
        'show',
        '1',
        '--db',
        db,
        '--status',
        'failed',
        '--limit',
        '3',
        '--page',
        '2',
      ]);
      expect(page.stdout.split('\n').filter((l) => l.startsWith('failed u'))).toEqual([
        'failed u08 (#8): Error: even (half.js:1:34)',
        'failed u10 (#10): Error: even (half.js:1:34)',
        'failed u12 (#12): Error: even (half.js:1:34)',
      ]);
      const offset = await usrun([
        'runs',
        'show',
        '1',
        '--db',
        db,
        '--json',
        '--status',
        'failed',
        '--offset',
        '13',
      ]);
      expect(
        ndjson(offset.stdout)
          .slice(1)
          .map((i) => i['username']),
      ).toEqual(['u28', 'u30']);
      const both = await usrun(['runs', 'show', '1', '--db', db, '--page', '2', '--offset', '3']);
      expect(both.code).toBe(2);
    });

    it('runs export writes one CSV row per item, to stdout or --out', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'mixed.js',
        "if (user.obj_id === 2) throw new Error('no, \"two\"');\nif (user.obj_id === 3) skip('later');\nuser.profile_add('gold');\nuser.profile_add('gld');\n",
      );
      await usrun(['run', script, '--db', db, '--filter', 'obj_id le 3']);
      const r = await usrun(['runs', 'export', '1', '--db', db]);
      expect(r.code).toBe(0);
      const rows = r.stdout.split('\r\n');
      expect(rows[0]).toBe(
        'run_id,seq,user_id,username,profile,csv_line,status,message,location,changes,notes',
      );
      expect(rows[1]).toMatch(
        /^1,1,1,u01,,,changed,,,"?\+ profile gold; last_update: .*,no profile with short_name gld \(mixed\.js:4:6\)$/,
      );
      expect(rows[2]).toBe('1,2,2,u02,,,failed,"Error: no, ""two""",mixed.js:1:30,,');
      expect(rows[3]).toBe('1,3,3,u03,,,skipped,later,,,');
      expect(rows.slice(4)).toEqual(['']);
      const out = join(tmp.dir, `run-1-${dialect}.csv`);
      const toFile = await usrun(['runs', 'export', '1', '--db', db, '--out', out]);
      expect(toFile.stderr).toBe(`wrote 3 items of run 1 to ${out}\n`);
      expect(readFileSync(out, 'utf8')).toBe(r.stdout);
    });

    it('--failed-of runs exactly the failed items again as a new run, journaling which run it retries', async () => {
      const db = await freshDb();
      const first = writeFile(
        tmp.dir,
        'picky.js',
        "if (user.obj_id % 7 === 0) throw new Error('picky');\nuser.description = 'first';\n",
      );
      const r1 = await usrun(['run', first, '--db', db, '--all']);
      expect(r1.code).toBe(1);
      const fixed = writeFile(tmp.dir, 'fixed.js', "user.description = 'fixed';\n");
      const r2 = await usrun(['run', fixed, '--db', db, '--failed-of', '1']);
      expect(r2.code).toBe(0);
      expect(r2.stdout).toMatch(/^run 2 completed: 4 selected, 4 changed, /m);
      const items = await dbQuery(db, 'SELECT user_id FROM run_items WHERE run_id = 2 ORDER BY user_id');
      expect(items.map((i) => Number(i['user_id']))).toEqual([7, 14, 21, 28]);
      const run = await dbQuery(db, 'SELECT selection FROM runs WHERE id = 2');
      expect(JSON.parse(String(run[0]?.['selection']))).toEqual({ failed_of: 1 });
      const fixedUsers = await dbQuery(
        db,
        "SELECT obj_id FROM users WHERE description = 'fixed' ORDER BY obj_id",
      );
      expect(fixedUsers.map((u) => Number(u['obj_id']))).toEqual([7, 14, 21, 28]);
      // Without a script: the one that failed them, which fails them again.
      const again = await usrun(['run', '--db', db, '--failed-of', '1']);
      expect(again.code).toBe(1);
      expect(again.stdout).toMatch(/^run 3 completed: 4 selected, 0 changed, .* 4 failed/m);
      // Nothing failed in run 2: nothing to do, no run 4.
      const none = await usrun(['run', fixed, '--db', db, '--failed-of', '2']);
      expect(none.stdout).toContain('nothing to do: run 2 has no failed items with a user');
      expect(await runsCount(db)).toBe(3);
      const mixed = await usrun(['run', fixed, '--db', db, '--failed-of', '1', '--all']);
      expect(mixed.code).toBe(2);
    });
  });

  describe('the journal', () => {
    it('runs show --script prints the script text that ran', async () => {
      const db = await freshDb();
      const text = "// the one that ran\nuser.description = 'v1';\n";
      const script = writeFile(tmp.dir, 'v1.js', text);
      await usrun(['run', script, '--db', db, '--filter', 'obj_id eq 1']);
      writeFile(tmp.dir, 'v1.js', "user.description = 'v2';\n");
      const r = await usrun(['runs', 'show', '1', '--db', db, '--script']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(text);
    });

    it("a resume's summary gives this session's users and rate apart from the run's totals", async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'stops.js',
        "if (user.obj_id === 4) throw new Error('stop here');\nuser.description = 'done';\n",
      );
      const first = await usrun(['run', script, '--db', db, '--all', '--fail-fast']);
      expect(first.stdout).toMatch(
        /^run 1 stopped: 4 selected, 3 changed, .* 1 failed, 0 not found — [\d.]+s, \d+ users\/s$/m,
      );
      const resumed = await usrun(['run', '--resume', '1', '--db', db]);
      expect(resumed.stdout).toMatch(
        /^run 1 completed: 30 selected, 29 changed, 0 unchanged, 0 skipped, 1 failed, 0 not found — this session: 26 users in [\d.]+s, \d+ users\/s$/m,
      );
    });
  });
});

/** The progress line on a real terminal (a pty): SQLite is enough, the line is the CLI's. */
describe.skipIf(!HAS_SCRIPT_PTY)('the progress line on a terminal', () => {
  it('shows from the start, fits a narrow terminal, and is drawn again below each failure line', async () => {
    const db = join(tmp.dir, 'pty.db');
    expect((await usrun(['init', '--db', db, '--demo', '30'])).code).toBe(0);
    const script = writeFile(tmp.dir, 'pty.js', "if (user.obj_id % 3 === 0) throw new Error('third');\n");
    const r = await runCliInPty(['run', script, '--db', db, '--all', '--yes'], {
      env: { NO_COLOR: '1' },
      columns: 40,
    });
    expect(r.code).toBe(1);
    const raw = r.stdout.replace(/\r\n/g, '\n');
    // Every drawing of the line: what follows a clear (\r ESC[K) up to the next \r or \n.
    const draws = [...raw.matchAll(/\r\x1b\[K([^\r\n]*)/g)].map((m) => m[1] as string); // eslint-disable-line no-control-regex
    const progress = draws.filter((d) => /\d+\/30 users/.test(d));
    expect(progress.length).toBeGreaterThan(3);
    for (const line of progress) expect(line.length).toBeLessThanOrEqual(39);
    // Drawn before the first user's outcome, with no made-up rate or ETA.
    expect(raw.indexOf(progress[0] as string)).toBeLessThan(raw.indexOf('✗ failed'));
    expect(progress[0]).toBe('0/30 users · 0 failed · –/s · ETA –');
    // Each failure line is followed at once by the progress line again (with the run id).
    const failures = [...raw.matchAll(/✗ failed [^\n]*\n\r\x1b\[K([^\r\n]*)/g)].map((m) => m[1] as string); // eslint-disable-line no-control-regex
    expect(failures).toHaveLength(3);
    for (const after of failures) expect(after).toMatch(/^run 1 · \d+\/30 users · \d failed · /);
    expect(raw).toMatch(
      /run 1 completed: 30 selected, 20 changed|run 1 completed: 30 selected, 0 changed, 20 unchanged/,
    );
  });
});
