import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlValue } from '../../src/store/driver.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { dbQuery, dumpDb, restoreDb, snapshotDb, type Snapshot } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { addRadius, profileNames, radiusRows, runJson, type JsonRun } from '../helpers/run-fixtures.js';

/**
 * Every file of scripts-examples/ is run here, with the selection its header comment suggests:
 * first with --dry-run (nothing written, the diff printed), then for real (the effect checked in
 * the database). The directory is listed, so a new example cannot be forgotten.
 */

const EXAMPLES_DIR = join(ROOT, 'scripts-examples');
const EXAMPLES = readdirSync(EXAMPLES_DIR)
  .filter((f) => /\.(js|ts)$/.test(f))
  .sort();
const KEY = 'a1'.repeat(32); // 32 bytes as 64 hex characters, for examples that encrypt attrs

const tmp = tempDir('usrun-examples-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

/** Splits a shell command line (single and double quotes, backslash-newline continuations). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && (line[i + 1] === '"' || line[i + 1] === '\\'))
        word += line[++i] as string;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`unbalanced quote in: ${line}`);
  if (word !== null) words.push(word);
  return words;
}

/** The `usrun run` arguments after the script that an example's header comment suggests, without --dry-run. */
function headerSelection(file: string): string[] {
  const header: string[] = [];
  for (const line of readFileSync(join(EXAMPLES_DIR, file), 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    header.push(line.replace(/^\/\/\s?/, ''));
  }
  const text = header.join('\n').replace(/\\\n/g, ' ');
  const run = text.split('\n').find((l) => /^Run:\s*usrun run /.test(l));
  if (!run)
    throw new Error(`${file}: no "// Run: usrun run scripts-examples/${file} …" line in its header comment`);
  const words = shellWords(run.replace(/^Run:\s*/, ''));
  expect(words.slice(0, 3)).toEqual(['usrun', 'run', `scripts-examples/${file}`]);
  return words.slice(3).filter((w) => w !== '--dry-run');
}

interface Context {
  db: string;
  before: Record<string, unknown[]>;
  real: JsonRun;
  source: string;
}

interface Expectation {
  /** Extra rows the example needs to have something to do. */
  setup?: (db: string) => Promise<unknown>;
  /** Lines (or patterns) the dry run must print. */
  diff: (string | RegExp)[];
  /** The effect of the real run. */
  check: (c: Context) => Promise<void>;
}

const ids = async (db: string, sql: string, params: SqlValue[] = []) =>
  (await dbQuery<{ id: number }>(db, sql, params)).map((r) => r.id);
const changedIds = (run: JsonRun) =>
  run.items.filter((i) => i['status'] === 'changed').map((i) => i['user_id'] as number);

const attrExample: Expectation = {
  diff: [/^ {2}[+~] attr \S+/m],
  check: async ({ db, before, real, source }) => {
    const changed = changedIds(real);
    expect(changed.length).toBeGreaterThan(0);
    const attrsOf = (rows: unknown[], id: number) =>
      rows.filter((r) => (r as { user_id: number }).user_id === id);
    for (const id of changed)
      expect(attrsOf(await dbQuery(db, 'SELECT * FROM user_attrs'), id)).not.toEqual(
        attrsOf(before['user_attrs'] ?? [], id),
      );
    if (/encrypt\s*:\s*true|,\s*true\s*\)/.test(source)) {
      const encrypted = await dbQuery<{ value: string }>(
        db,
        'SELECT value FROM user_attrs WHERE is_encrypted = ?',
        [true],
      );
      expect(encrypted.length).toBeGreaterThan(0);
    }
    // Only attrs change (and last_update on users).
    for (const table of ['user_profiles', 'reply_attributes', 'check_attributes']) {
      expect(await dbQuery(db, `SELECT * FROM ${table} ORDER BY 1, 2, 3`)).toEqual(before[table]);
    }
  },
};

const EXPECTATIONS: Record<string, Expectation> = {
  'attribute-add.js': {
    diff: ['  + reply Username += zequenze'],
    check: async ({ db, real }) => {
      const selected = await ids(
        db,
        "SELECT obj_id AS id FROM users WHERE lower(username) LIKE 'a%' ORDER BY obj_id",
      );
      expect(selected.length).toBeGreaterThan(3);
      expect(changedIds(real)).toEqual(selected);
      const withRow = await ids(
        db,
        "SELECT user_id AS id FROM reply_attributes WHERE attr = 'Username' AND op = '+=' AND value = 'zequenze' ORDER BY user_id",
      );
      expect(withRow).toEqual(selected); // exactly one row each, nobody else
      expect(real.items[0]?.['logs']).toEqual(['true reply Username += zequenze added']);
    },
  },
  'attribute-remove.js': {
    setup: async (db) => {
      for (const id of [1, 2, 3, 4])
        await addRadius(db, 'reply_attributes', id, 'Username', '+=', 'zequenze');
      await addRadius(db, 'reply_attributes', 5, 'Username', ':=', 'someone-else');
    },
    diff: ['  - reply Username += zequenze'],
    check: async ({ db, real }) => {
      expect(real.items.map((i) => [i['user_id'], i['status']])).toEqual([
        [1, 'changed'],
        [2, 'changed'],
        [3, 'changed'],
        [4, 'changed'],
        [5, 'unchanged'],
      ]);
      expect(
        await dbQuery(db, "SELECT user_id, op, value FROM reply_attributes WHERE attr = 'Username'"),
      ).toEqual([{ user_id: 5, op: ':=', value: 'someone-else' }]);
      expect(real.items[4]?.['logs']).toEqual(['false reply Username += zequenze not present']);
    },
  },
  'check-attribute-add.js': {
    diff: [/^ {2}\+ check Max-Daily-Session == 4$/m, /^ {2}~ check Max-Daily-Session == 14400 → 4$/m],
    check: async ({ db, before, real }) => {
      const guests = await ids(db, "SELECT obj_id AS id FROM users WHERE klass = 'guest' ORDER BY obj_id");
      expect(guests.length).toBeGreaterThan(3);
      expect(changedIds(real)).toEqual(guests);
      for (const id of guests) {
        expect(
          (await radiusRows(db, 'check_attributes', id)).filter(([attr]) => attr === 'Max-Daily-Session'),
        ).toEqual([['Max-Daily-Session', '==', '4']]);
      }
      // Users outside the selection keep their check rows.
      const others = (rows: unknown[]) =>
        rows.filter((r) => !guests.includes((r as { user_id: number }).user_id));
      expect(others(await dbQuery(db, 'SELECT * FROM check_attributes ORDER BY 1, 2, 3'))).toEqual(
        others(before['check_attributes'] ?? []),
      );
    },
  },
  'check-attribute-remove.js': {
    setup: async (db) => {
      for (const id of [1, 2, 3]) await addRadius(db, 'check_attributes', id, 'Max-Daily-Session', '==', '4');
    },
    diff: ['  - check Max-Daily-Session == 4'],
    check: async ({ db, before, real }) => {
      expect(changedIds(real)).toEqual([1, 2, 3]);
      expect(
        await dbQuery(
          db,
          "SELECT count(*) AS n FROM check_attributes WHERE attr = 'Max-Daily-Session' AND value = '4'",
        ),
      ).toEqual([{ n: 0 }]);
      const kept = (rows: unknown[]) => rows.filter((r) => (r as { value: string }).value !== '4');
      expect(await dbQuery(db, 'SELECT * FROM check_attributes ORDER BY 1, 2, 3')).toEqual(
        kept(before['check_attributes'] ?? []),
      );
      expect(real.items.filter((i) => i['status'] === 'unchanged').length).toBeGreaterThan(3); // the 14400 ones
    },
  },
  'deactivate-idle-users.js': {
    diff: [
      /^ {2}is_active: true → false$/m,
      /^ {2}description: null → "deactivated by usrun: idle since \d{4}-\d\d-\d\d"$/m,
    ],
    check: async ({ db, before, real }) => {
      const cutoff = new Date(Date.now() - 90 * 86400_000).toISOString();
      type U = { obj_id: number; is_active: number; last_login: string | null; date_joined: string | null };
      const idle = (before['users'] as U[])
        .filter((u) => u.is_active === 1 && (u.last_login ?? u.date_joined ?? '') < cutoff)
        .map((u) => u.obj_id);
      expect(idle.length).toBeGreaterThan(5);
      expect(changedIds(real)).toEqual(idle);
      expect(
        await ids(
          db,
          "SELECT obj_id AS id FROM users WHERE description LIKE 'deactivated by usrun: idle since %' AND is_active = ? ORDER BY obj_id",
          [false],
        ),
      ).toEqual(idle);
      const activeBefore = (before['users'] as U[]).filter((u) => u.is_active === 1).length;
      expect(await dbQuery(db, 'SELECT count(*) AS n FROM users WHERE is_active = ?', [true])).toEqual([
        { n: activeBefore - idle.length },
      ]);
    },
  },
  'move-profile.js': {
    diff: ['  + profile aaa-02', '  - profile aaa-01'],
    check: async ({ db, before, real }) => {
      type M = { user_id: number; profile_id: number };
      const movers = (before['user_profiles'] as M[]).filter((m) => m.profile_id === 1).map((m) => m.user_id);
      expect(movers.length).toBeGreaterThan(5);
      expect(changedIds(real)).toEqual(movers);
      expect(await dbQuery(db, 'SELECT count(*) AS n FROM user_profiles WHERE profile_id = 1')).toEqual([
        { n: 0 },
      ]);
      for (const id of movers) expect(await profileNames(db, id)).toContain('aaa-02');
      const untouched = (rows: unknown[]) => (rows as M[]).filter((m) => !movers.includes(m.user_id));
      expect(untouched(await dbQuery(db, 'SELECT * FROM user_profiles ORDER BY 1, 2, 3'))).toEqual(
        untouched(before['user_profiles'] ?? []),
      );
    },
  },
  'normalise-emails.js': {
    diff: [/^ {2}email: "[^"]*[A-Z][^"]*" → "[^"A-Z]+"$/m],
    check: async ({ db, before, real }) => {
      type U = { obj_id: number; email: string | null };
      const messy = (before['users'] as U[]).filter(
        (u) => u.email !== null && u.email !== u.email.trim().toLowerCase(),
      );
      expect(messy.length).toBeGreaterThan(2);
      expect(changedIds(real)).toEqual(messy.map((u) => u.obj_id));
      for (const u of messy) {
        expect(await dbQuery(db, 'SELECT email FROM users WHERE obj_id = ?', [u.obj_id])).toEqual([
          { email: u.email?.trim().toLowerCase() },
        ]);
      }
      expect(await dbQuery(db, 'SELECT count(*) AS n FROM users WHERE email <> lower(trim(email))')).toEqual([
        { n: 0 },
      ]);
      expect(real.items.filter((i) => i['status'] === 'skipped')).toEqual([]); // `email pr` leaves out null emails
    },
  },
  'profile-add.js': {
    // The seed adds profile id 12: give the demo database one.
    setup: async (db) =>
      await dbQuery(
        db,
        "INSERT INTO profiles (id, short_name, name) VALUES (12, 'promo-12', 'Promo twelve')",
      ),
    diff: ['  + profile promo-12'],
    check: async ({ db, real }) => {
      const residential = await ids(
        db,
        "SELECT obj_id AS id FROM users WHERE klass = 'residential' ORDER BY obj_id",
      );
      expect(residential.length).toBeGreaterThan(10);
      expect(changedIds(real)).toEqual(residential);
      for (const id of residential)
        expect(await profileNames(db, id)).toEqual(expect.arrayContaining(['aaa-01', 'promo-12']));
      expect(await dbQuery(db, 'SELECT count(*) AS n FROM user_profiles WHERE profile_id = 12')).toEqual([
        { n: residential.length },
      ]);
      const logs = real.items.flatMap((i) => i['logs'] as string[]);
      expect(logs).toContain('true profile promo-12 added');
      expect(
        logs.some((l) => l === 'true profile aaa-01 added' || l === 'false user already has profile aaa-01'),
      ).toBe(true);
    },
  },
  'profile-remove.js': {
    setup: async (db) => {
      await dbQuery(
        db,
        "INSERT INTO profiles (id, short_name, name) VALUES (12, 'promo-12', 'Promo twelve')",
      );
      await dbQuery(
        db,
        'INSERT INTO user_profiles (user_id, profile_id, priority) SELECT user_id, 12, 5 FROM user_profiles WHERE profile_id = 1 LIMIT 3',
      );
    },
    diff: ['  - profile aaa-01', '  - profile promo-12'],
    check: async ({ db, before, real }) => {
      type M = { user_id: number; profile_id: number };
      const members = (before['user_profiles'] as M[])
        .filter((m) => m.profile_id === 1)
        .map((m) => m.user_id);
      expect(changedIds(real)).toEqual(members);
      expect(
        await dbQuery(db, 'SELECT count(*) AS n FROM user_profiles WHERE profile_id IN (1, 12)'),
      ).toEqual([{ n: 0 }]);
      const untouched = (rows: unknown[]) =>
        (rows as M[]).filter((m) => m.profile_id !== 1 && m.profile_id !== 12);
      expect(await dbQuery(db, 'SELECT * FROM user_profiles ORDER BY 1, 2, 3')).toEqual(
        untouched(before['user_profiles'] ?? []),
      );
    },
  },
  'session-timeout-from-csv.js': {
    diff: ['  + reply Session-Timeout := 7200', '  + reply Session-Timeout := 86400'],
    check: async ({ db, real }) => {
      const csv = readFileSync(join(EXAMPLES_DIR, 'timeouts.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
      const wanted = csv.map((l) => l.split(',').map(Number) as [number, number]);
      expect(wanted.length).toBe(5);
      expect(real.summary['selected']).toBe(5);
      for (const [id, seconds] of wanted) {
        expect(
          (await radiusRows(db, 'reply_attributes', id)).filter(([attr]) => attr === 'Session-Timeout'),
        ).toEqual([['Session-Timeout', ':=', String(seconds)]]);
      }
    },
  },
  'expire-guests.ts': {
    diff: [
      /^ {2}expiration: null → "\d{4}-\d\d-\d\dT[\d:.]+Z"$/m,
      /^ {2}description: .* → "guest account: expires \d{4}-\d\d-\d\d"$/m,
    ],
    check: async ({ db, before, real }) => {
      type U = { obj_id: number; klass: string | null; expiration: string | null };
      const open = (before['users'] as U[])
        .filter((u) => u.klass === 'guest' && u.expiration === null)
        .map((u) => u.obj_id);
      expect(open.length).toBeGreaterThan(3);
      expect(changedIds(real)).toEqual(open);
      const in30 = Date.now() + 30 * 86_400_000;
      for (const u of await dbQuery<U>(
        db,
        "SELECT obj_id, klass, expiration FROM users WHERE klass = 'guest'",
      )) {
        if (open.includes(u.obj_id))
          expect(Math.abs(Date.parse(u.expiration ?? '') - in30)).toBeLessThan(120_000);
      }
      // Guests that already expired or will: skipped, their expiry untouched.
      const skipped = real.items.filter((i) => i['status'] === 'skipped');
      expect(skipped.length).toBe(
        (before['users'] as U[]).filter((u) => u.klass === 'guest').length - open.length,
      );
      expect(String((skipped[0]?.['error'] as { message: string } | null)?.message)).toMatch(
        /^already expires \d{4}-/,
      );
    },
  },
  'attr-set.js': {
    diff: [...attrExample.diff, '  + attr my-attribute = "my-value"'],
    check: async (c) => {
      await attrExample.check(c);
      const residential = await ids(
        c.db,
        "SELECT obj_id AS id FROM users WHERE klass = 'residential' ORDER BY obj_id",
      );
      expect(changedIds(c.real)).toEqual(residential);
      const rows = await dbQuery(
        c.db,
        "SELECT user_id, value, is_encrypted, expires_at FROM user_attrs WHERE name = 'my-attribute' ORDER BY user_id",
      );
      expect(rows).toEqual(
        residential.map((id) => ({ user_id: id, value: '"my-value"', is_encrypted: 0, expires_at: null })),
      );
    },
  },
  'attr-set-many.js': {
    diff: [...attrExample.diff, '  + attr my-attr1 = "my-value1"', '  + attr my-attr2 = <encrypted>'],
    check: async (c) => {
      await attrExample.check(c);
      const residential = await ids(
        c.db,
        "SELECT obj_id AS id FROM users WHERE klass = 'residential' ORDER BY obj_id",
      );
      expect(changedIds(c.real)).toEqual(residential);
      type A = {
        user_id: number;
        name: string;
        value: string;
        is_encrypted: number;
        expires_at: string | null;
      };
      const rows = await dbQuery<A>(
        c.db,
        "SELECT user_id, name, value, is_encrypted, expires_at FROM user_attrs WHERE name LIKE 'my-attr_' ORDER BY user_id, name",
      );
      expect(rows.map((r) => [r.user_id, r.name])).toEqual(
        residential.flatMap((id) => [1, 2, 3].map((n) => [id, `my-attr${n}`])),
      );
      const hour = Date.now() + 3600_000;
      for (const r of rows) {
        if (r.name === 'my-attr1')
          expect(r).toMatchObject({ value: '"my-value1"', is_encrypted: 0, expires_at: null });
        if (r.name === 'my-attr2') {
          expect(r).toMatchObject({ is_encrypted: 1, expires_at: null });
          expect(r.value).not.toContain('my-value2'); // ciphertext at rest
        }
        if (r.name === 'my-attr3') {
          expect(r).toMatchObject({ value: '"my-value3"', is_encrypted: 0 });
          expect(Math.abs(Date.parse(r.expires_at ?? '') - hour)).toBeLessThan(120_000); // an hour after the run
        }
      }
    },
  },
};

describe('scripts-examples/', () => {
  it('has the examples the README lists', () => {
    expect(EXAMPLES).toEqual(
      expect.arrayContaining([
        'attribute-add.js',
        'attribute-remove.js',
        'check-attribute-add.js',
        'check-attribute-remove.js',
        'deactivate-idle-users.js',
        'move-profile.js',
        'normalise-emails.js',
        'profile-add.js',
        'profile-remove.js',
        'session-timeout-from-csv.js',
        'expire-guests.ts',
      ]),
    );
  });

  it('suggests the documented selections in the headers', () => {
    expect(headerSelection('move-profile.js')).toEqual(
      expect.arrayContaining(['--param', 'from=aaa-01', 'to=aaa-02']),
    );
    expect(headerSelection('session-timeout-from-csv.js')).toEqual([
      '--csv',
      'scripts-examples/timeouts.csv',
    ]);
  });

  describe.each(DIALECTS)('%s', (dialect) => {
    let template = '';
    let snapshot: Snapshot;
    beforeAll(async () => {
      template = await testStore(dialect, { demo: 200 });
      snapshot = await snapshotDb(template);
    });

    it.each(EXAMPLES)(
      '%s: dry run writes nothing and prints the diff; the real run does what it says',
      async (file) => {
        const expectation = EXPECTATIONS[file];
        expect(
          expectation,
          `no expectations for scripts-examples/${file}: add them to this test`,
        ).toBeDefined();
        if (!expectation) return;
        await restoreDb(template, snapshot);
        const db = template;
        await expectation.setup?.(db);
        const source = readFileSync(join(EXAMPLES_DIR, file), 'utf8');
        const env = /\.attr\b|encrypt/.test(source) ? { USRUN_KEY: KEY } : {};
        const args = ['run', `scripts-examples/${file}`, ...headerSelection(file), '--db', db];

        const before = await dumpDb(db);
        const dry = await usrun([...args, '--dry-run'], { env });
        expect(dry.stderr).toBe('');
        expect(dry.code).toBe(0);
        expect(await dumpDb(db)).toEqual(before);
        expect(dry.stdout).toMatch(/^dry run \(nothing written\): \d+ selected, [1-9]\d* would change/m);
        if (file === 'attr-set-many.js') expect(dry.stdout).not.toContain('my-value2');
        for (const line of expectation.diff) {
          if (typeof line === 'string') expect(dry.stdout.split('\n')).toContain(line);
          else expect(dry.stdout).toMatch(line);
        }

        const real = await runJson(args, { env });
        expect(real.stderr).toBe('');
        expect(real.code).toBe(0);
        expect(real.summary).toMatchObject({ failed: 0, not_found: 0, dry_run: false, status: 'completed' });
        expect(real.summary['changed']).toBeGreaterThan(0);
        // The dry run announced exactly the users the real run changed.
        const wouldChange = Number(/(\d+) would change/.exec(dry.stdout)?.[1]);
        expect(wouldChange).toBe(real.summary['changed']);
        await expectation.check({ db, before, real, source });
        const runs = await dbQuery<{ id: number; status: string }>(db, 'SELECT id, status FROM runs');
        expect(runs).toEqual([{ id: real.summary['run_id'], status: 'completed' }]);
        expect(await dbQuery(db, 'SELECT count(*) AS n FROM run_items')).toEqual([
          { n: real.summary['selected'] },
        ]);
      },
    );
  });
});
