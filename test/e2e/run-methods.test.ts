import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { dbQuery } from '../helpers/db.js';
import { fixtureDb } from '../helpers/fixture-db.js';
import { DIALECTS, dropTestDbs } from '../helpers/dialects.js';
import {
  addMembership,
  addProfiles,
  addRadius,
  addUsers,
  itemFor,
  profileNames,
  radiusRows,
  runJson,
  userRows,
  writeFile,
} from '../helpers/run-fixtures.js';

/**
 * SPEC §4 through the CLI: every method and operator rule of the `user` object, observed in the
 * database a real run leaves behind (and in the `[updated, message]` results the script logs).
 */

const tmp = tempDir('usrun-methods-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

describe.each(DIALECTS)('%s', (dialect) => {
  const freshDb = fixtureDb(dialect, async (template) => {
    await addProfiles(template, [
      [1, 'aaa-01', 'Basic'],
      [2, 'aaa-02', 'Standard'],
      [3, 'gold', 'Gold'],
      [12, 'promo', 'Promo'],
    ]);
    await addUsers(
      template,
      [1, 2, 3, 4, 5, 6].map((id) => ({
        obj_id: id,
        username: `user${id}`,
        email: `user${id}@example.org`,
        klass: 'residential',
      })),
    );
    for (const id of [1, 2, 3, 4, 5, 6]) await addMembership(template, id, 1);
    // User 1: reply rows covering every reply operator, Session-Timeout twice.
    await addRadius(template, 'reply_attributes', 1, 'Session-Timeout', ':=', '3600');
    await addRadius(template, 'reply_attributes', 1, 'Idle-Timeout', '=', '600');
    await addRadius(template, 'reply_attributes', 1, 'Filter-Id', '+=', 'a');
    await addRadius(template, 'reply_attributes', 1, 'Filter-Id', '+=', 'b');
    await addRadius(template, 'reply_attributes', 1, 'Session-Timeout', ':=', '7200');
    // User 3: check rows.
    await addRadius(template, 'check_attributes', 3, 'Simultaneous-Use', ':=', '1');
    await addRadius(template, 'check_attributes', 3, 'Max-Daily-Session', '==', '14400');
    await addRadius(template, 'check_attributes', 3, 'Max-Daily-Session', '>=', '100');
  });

  /** `file:line:col` of the first `token` on the (only) line of `source` containing `lineText`. */
  function locationOf(file: string, source: string, lineText: string, token: string): string {
    const lines = source.split('\n');
    const index = lines.findIndex((l) => l.includes(lineText));
    expect(index).toBeGreaterThan(-1);
    expect(lines.filter((l) => l.includes(lineText))).toHaveLength(1);
    const column = (lines[index] as string).indexOf(token) + 1;
    expect(column).toBeGreaterThan(0);
    return `${file}:${index + 1}:${column}`;
  }

  const parseLogs = (item: Record<string, any>) =>
    (item['logs'] as string[]).map((l) => JSON.parse(l) as unknown);
  const sortRows = <T>(rows: T[]) =>
    [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

  describe('profile_add / profile_remove', () => {
    it('accept {id}, {short_name}, a positional id or short name, and report what happened', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'profiles.js',
        `const log = (x) => console.log(JSON.stringify(x));
log(user.profile_add({ id: 3 }));
log(user.profile_add({ short_name: 'aaa-02' }));
log(user.profile_add(12));
log(user.profile_add('aaa-01'));
log(user.profile_add({ id: 3 }));
log(user.profile_add('nope'));
log(user.profile_add(99));
log(user.profiles);
log(user.profile_remove({ short_name: 'aaa-01' }));
log(user.profile_remove(12));
log(user.profile_remove({ id: 12 }));
log(user.profile_remove('aaa-01'));
log(user.profile_remove('nope'));
log(user.profiles);
`,
      );
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id eq 1']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const item = itemFor(run, 1);
      expect(item['status']).toBe('changed');
      expect(parseLogs(item)).toEqual([
        [true, 'profile gold added'],
        [true, 'profile aaa-02 added'],
        [true, 'profile promo added'],
        [false, 'user already has profile aaa-01'],
        [false, 'user already has profile gold'],
        [false, 'no profile with short_name nope'],
        [false, 'no profile with id 99'],
        [
          { id: 1, short_name: 'aaa-01', name: 'Basic', priority: 1, attributes: [], check_attributes: [] },
          { id: 3, short_name: 'gold', name: 'Gold', priority: 2, attributes: [], check_attributes: [] },
          {
            id: 2,
            short_name: 'aaa-02',
            name: 'Standard',
            priority: 3,
            attributes: [],
            check_attributes: [],
          },
          { id: 12, short_name: 'promo', name: 'Promo', priority: 4, attributes: [], check_attributes: [] },
        ],
        [true, 'profile aaa-01 removed'],
        [true, 'profile promo removed'],
        [false, 'user does not have profile promo'],
        [false, 'user does not have profile aaa-01'],
        [false, 'no profile with short_name nope'],
        [
          { id: 3, short_name: 'gold', name: 'Gold', priority: 2, attributes: [], check_attributes: [] },
          {
            id: 2,
            short_name: 'aaa-02',
            name: 'Standard',
            priority: 3,
            attributes: [],
            check_attributes: [],
          },
        ],
      ]);
      expect(
        await dbQuery(
          db,
          'SELECT profile_id, priority FROM user_profiles WHERE user_id = 1 ORDER BY profile_id',
        ),
      ).toEqual([
        { profile_id: 2, priority: 3 },
        { profile_id: 3, priority: 2 },
      ]);
      // Nobody else was touched.
      for (const id of [2, 3, 4, 5, 6]) expect(await profileNames(db, id)).toEqual(['aaa-01']);
    });

    it('both keys, neither key, or a bad id throw a TypeError: the user fails and keeps its rows', async () => {
      const db = await freshDb();
      const source = `user.profile_add('gold');
if (user.obj_id === 1) user.profile_add({ id: 3, short_name: 'gold' });
if (user.obj_id === 2) user.profile_remove({});
if (user.obj_id === 3) user.profile_add({ id: '3' });
if (user.obj_id === 4) user.profile_remove({ id: 1, short_name: 'aaa-01' });
`;
      const script = writeFile(tmp.dir, 'profile-keys.js', source);
      const before = await Promise.all([1, 2, 3, 4, 5].map((id) => userRows(db, id)));
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id le 5']);
      expect(run.code).toBe(1);
      expect(run.items.map((i) => i['status'])).toEqual(['failed', 'failed', 'failed', 'failed', 'changed']);
      expect(itemFor(run, 1)['error']).toEqual({
        message: 'TypeError: user.profile_add: use either id or short_name',
        location: locationOf('profile-keys.js', source, "short_name: 'gold' }", 'profile_add'),
      });
      expect(itemFor(run, 2)['error']['message']).toMatch(
        /^TypeError: user\.profile_remove: use either id or short_name/,
      );
      expect(itemFor(run, 2)['error']['location']).toBe(
        locationOf('profile-keys.js', source, 'profile_remove({})', 'profile_remove'),
      );
      expect(itemFor(run, 3)['error']['message']).toMatch(
        /^TypeError: user\.profile_add: id must be an integer/,
      );
      expect(itemFor(run, 4)['error']['message']).toBe(
        'TypeError: user.profile_remove: use either id or short_name',
      );
      for (const id of [1, 2, 3, 4]) expect(await userRows(db, id)).toEqual(before[id - 1]);
      expect(await profileNames(db, 5)).toEqual(['aaa-01', 'gold']);
    });
  });

  describe('reply attributes', () => {
    it('= adds only if absent, := replaces every row, += appends unless identical; remove with or without operator', async () => {
      const db = await freshDb();
      const originalIds = await dbQuery<{ id: number; attr: string; value: string }>(
        db,
        'SELECT id, attr, value FROM reply_attributes WHERE user_id = 1 ORDER BY id',
      );
      const script = writeFile(
        tmp.dir,
        'reply.js',
        `const log = (x) => console.log(JSON.stringify(x));
log(user.attribute_add('Idle-Timeout', 900));
log(user.attribute_add('Class', 'premium'));
log(user.attribute_add({ attr: 'Session-Timeout', value: 1800, operation: ':=' }));
log(user.attribute_add('Session-Timeout', 1800, ':='));
log(user.attribute_add('Filter-Id', 'a', '+='));
log(user.attribute_add('Filter-Id', 'c', '+='));
log(user.attribute_remove('Filter-Id', 'b'));
log(user.attribute_remove('Idle-Timeout', '600', ':='));
log(user.attribute_remove({ attr: 'Idle-Timeout', value: 600, operation: '=' }));
log(user.attribute_remove('Idle-Timeout', 600));
log(user.attributes);
`,
      );
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id eq 1']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const logs = parseLogs(itemFor(run, 1));
      expect(logs.slice(0, 10)).toEqual([
        [false, 'reply Idle-Timeout already present'],
        [true, 'reply Class = premium added'],
        [true, 'reply Session-Timeout := 1800 added (replaced 2 rows)'],
        [false, 'reply Session-Timeout := 1800 already present'],
        [false, 'reply Filter-Id += a already present'],
        [true, 'reply Filter-Id += c added'],
        [true, 'reply Filter-Id += b removed'],
        [false, 'reply Idle-Timeout := 600 not present'],
        [true, 'reply Idle-Timeout = 600 removed'],
        [false, 'reply Idle-Timeout 600 not present'],
      ]);
      const expected = [
        ['Filter-Id', '+=', 'a'],
        ['Class', '=', 'premium'],
        ['Session-Timeout', ':=', '1800'],
        ['Filter-Id', '+=', 'c'],
      ] as const;
      // The reader showed the pending rows; the database holds exactly those.
      expect(sortRows(logs[10] as unknown[])).toEqual(
        sortRows(expected.map(([attr, op, value]) => ({ attr, op, value }))),
      );
      expect(sortRows(await radiusRows(db, 'reply_attributes', 1))).toEqual(
        sortRows(expected.map((r) => [...r])),
      );
      // The untouched row kept its id.
      const filterA = originalIds.find((r) => r.attr === 'Filter-Id' && r.value === 'a');
      expect(
        await dbQuery(
          db,
          "SELECT id FROM reply_attributes WHERE user_id = 1 AND attr = 'Filter-Id' AND value = 'a'",
        ),
      ).toEqual([{ id: filterA?.id }]);
    });

    it('a check operator, an unknown operator or an over-long value throws a TypeError listing what is allowed', async () => {
      const db = await freshDb();
      const source = `user.description = 'touched';
if (user.obj_id === 1) user.attribute_add('Session-Timeout', 60, '==');
if (user.obj_id === 2) user.attribute_remove('Session-Timeout', 60, 'like');
if (user.obj_id === 3) user.attribute_add('Reply-Message', 'x'.repeat(254));
if (user.obj_id === 4) user.attribute_add('Reply-Message', { text: 'hi' });
`;
      const script = writeFile(tmp.dir, 'reply-bad.js', source);
      const before = await Promise.all([1, 2, 3, 4].map((id) => userRows(db, id)));
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id le 5']);
      expect(run.code).toBe(1);
      expect(run.items.map((i) => i['status'])).toEqual(['failed', 'failed', 'failed', 'failed', 'changed']);
      expect(itemFor(run, 1)['error']).toEqual({
        message: 'TypeError: user.attribute_add: operation must be one of = := += (got "==")',
        location: locationOf('reply-bad.js', source, "60, '==')", 'attribute_add'),
      });
      expect(itemFor(run, 2)['error']['message']).toBe(
        'TypeError: user.attribute_remove: operation must be one of = := += (got "like")',
      );
      expect(itemFor(run, 3)['error']['message']).toMatch(
        /^TypeError: user\.attribute_add: value must be at most 253 characters/,
      );
      expect(itemFor(run, 4)['error']['message']).toMatch(
        /^TypeError: user\.attribute_add: value must be a string or a finite number/,
      );
      for (const id of [1, 2, 3, 4]) expect(await userRows(db, id)).toEqual(before[id - 1]);
      expect(await dbQuery(db, 'SELECT description FROM users WHERE obj_id = 5')).toEqual([
        { description: 'touched' },
      ]);
    });
  });

  describe('check attributes', () => {
    it('a comparison operator sets the value of the row with that attribute and operator, or adds one', async () => {
      const db = await freshDb();
      const rowId = async (op: string) =>
        (
          await dbQuery<{ id: number }>(
            db,
            "SELECT id FROM check_attributes WHERE user_id = 3 AND attr = 'Max-Daily-Session' AND op = ?",
            [op],
          )
        )[0]?.id;
      const [eqId, geId] = [await rowId('=='), await rowId('>=')];
      const script = writeFile(
        tmp.dir,
        'check.js',
        `const log = (x) => console.log(JSON.stringify(x));
log(user.check_attribute_add('Max-Daily-Session', 3600));
log(user.check_attribute_add({ attr: 'Max-Daily-Session', value: 200, operation: '>=' }));
log(user.check_attribute_add('Max-Daily-Session', 200, '>='));
log(user.check_attribute_add('Max-Daily-Session', 10, '<='));
log(user.check_attribute_add('Calling-Station-Id', '^00:11', '=~'));
log(user.check_attribute_add('Auth-Type', 'Reject', ':='));
log(user.check_attribute_remove('Simultaneous-Use', 1));
log(user.check_attribute_remove('Simultaneous-Use', 1));
log(user.check_attribute_remove({ attr: 'Max-Daily-Session', value: 10, operation: '>=' }));
log(user.check_attributes);
`,
      );
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id eq 3']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const logs = parseLogs(itemFor(run, 3));
      expect(logs.slice(0, 9)).toEqual([
        [true, 'check Max-Daily-Session == 3600 updated (was 14400)'],
        [true, 'check Max-Daily-Session >= 200 updated (was 100)'],
        [false, 'check Max-Daily-Session >= 200 already present'],
        [true, 'check Max-Daily-Session <= 10 added'],
        [true, 'check Calling-Station-Id =~ ^00:11 added'],
        [true, 'check Auth-Type := Reject added'],
        [true, 'check Simultaneous-Use := 1 removed'],
        [false, 'check Simultaneous-Use 1 not present'],
        [false, 'check Max-Daily-Session >= 10 not present'],
      ]);
      const expected = [
        ['Max-Daily-Session', '==', '3600'],
        ['Max-Daily-Session', '>=', '200'],
        ['Max-Daily-Session', '<=', '10'],
        ['Calling-Station-Id', '=~', '^00:11'],
        ['Auth-Type', ':=', 'Reject'],
      ];
      expect(sortRows(logs[9] as unknown[])).toEqual(
        sortRows(expected.map(([attr, op, value]) => ({ attr, op, value }))),
      );
      expect(sortRows(await radiusRows(db, 'check_attributes', 3))).toEqual(sortRows(expected));
      // "Sets the value of the row": the rows keep their ids.
      expect(await rowId('==')).toBe(eqId);
      expect(await rowId('>=')).toBe(geId);
    });

    it('an unknown check operator fails the user, listing every allowed one', async () => {
      const db = await freshDb();
      const before = await userRows(db, 3);
      const script = writeFile(
        tmp.dir,
        'check-bad.js',
        "user.profile_add('gold');\nuser.check_attribute_add('Max-Daily-Session', 1, '===');\n",
      );
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id eq 3']);
      expect(run.code).toBe(1);
      expect(itemFor(run, 3)).toMatchObject({
        status: 'failed',
        changes: [],
        error: {
          message:
            'TypeError: user.check_attribute_add: operation must be one of = := += == != > >= < <= =~ !~ =* !* (got "===")',
          location: 'check-bad.js:2:6',
        },
      });
      expect(await userRows(db, 3)).toEqual(before);
    });
  });

  describe('fields', () => {
    it('read-only fields, unknown fields and wrong types throw a TypeError naming the field, at the script location', async () => {
      const db = await freshDb();
      const source = `user.description = 'changed before the error';
user.profile_add('gold');
if (user.obj_id === 1) user.obj_id = 42;
if (user.obj_id === 2) user.emial = 'typo@example.org';
if (user.obj_id === 3) user.is_active = 'yes';
if (user.obj_id === 4) user.last_login = new Date();
if (user.obj_id === 5) user.expiration = 'next tuesday';
if (user.obj_id === 6) { user.expiration = '2030-01-02T03:04:05Z'; user.klass = 'vip'; user.is_active = false; user.email = null; }
`;
      const script = writeFile(tmp.dir, 'fields.js', source);
      const before = await Promise.all([1, 2, 3, 4, 5].map((id) => userRows(db, id)));
      const run = await runJson(['run', script, '--db', db, '--all']);
      expect(run.code).toBe(1);
      const failures = run.items
        .filter((i) => i['status'] === 'failed')
        .map((i) => [i['user_id'], i['error']]);
      expect(failures).toEqual([
        [
          1,
          {
            message: 'TypeError: user.obj_id is read-only',
            location: locationOf('fields.js', source, 'user.obj_id = 42', '= 42'),
          },
        ],
        [
          2,
          {
            message: 'TypeError: user has no field "emial" (did you mean email?)',
            location: locationOf('fields.js', source, 'user.emial', "= 'typo"),
          },
        ],
        [
          3,
          {
            message: 'TypeError: user.is_active must be a boolean (got "yes")',
            location: locationOf('fields.js', source, "is_active = 'yes'", "= 'yes'"),
          },
        ],
        [
          4,
          {
            message: 'TypeError: user.last_login is read-only',
            location: locationOf('fields.js', source, 'user.last_login', '= new'),
          },
        ],
        [
          5,
          {
            message: expect.stringMatching(
              /^TypeError: user\.expiration must be a valid Date, an ISO-8601 string or null/,
            ),
            location: locationOf('fields.js', source, 'next tuesday', "= 'next"),
          },
        ],
      ]);
      for (const id of [1, 2, 3, 4, 5]) expect(await userRows(db, id)).toEqual(before[id - 1]);
      expect(
        await dbQuery(
          db,
          'SELECT expiration, klass, is_active, email, description FROM users WHERE obj_id = 6',
        ),
      ).toEqual([
        {
          expiration: '2030-01-02T03:04:05.000Z',
          klass: 'vip',
          is_active: 0,
          email: null,
          description: 'changed before the error',
        },
      ]);
      expect(await profileNames(db, 6)).toEqual(['aaa-01', 'gold']);
    });

    it('last_update is set on a change, not when nothing changed, and kept when the script sets it', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'last-update.js',
        `if (user.obj_id === 1) user.description = 'changed';
if (user.obj_id === 2) { user.description = 'c2'; user.last_update = new Date(Date.UTC(2020, 0, 2, 3, 4, 5)); }
if (user.obj_id === 3) user.email = user.email;
if (user.obj_id === 4) { user.description = 'tmp'; user.description = null; }
if (user.obj_id === 5) user.profile_add('gold');
if (user.obj_id === 6) console.log(user.last_update instanceof Date, user.last_update.toISOString());
`,
      );
      const before = await dbQuery<{ obj_id: number; last_update: string }>(
        db,
        'SELECT obj_id, last_update FROM users ORDER BY obj_id',
      );
      const started = new Date().toISOString();
      const run = await runJson(['run', script, '--db', db, '--all']);
      const ended = new Date().toISOString();
      expect(run.code).toBe(0);
      expect(run.items.map((i) => i['status'])).toEqual([
        'changed',
        'changed',
        'unchanged',
        'unchanged',
        'changed',
        'unchanged',
      ]);
      expect(itemFor(run, 6)['logs']).toEqual(['true 2024-06-01T00:00:00.000Z']);
      const after = new Map(
        (
          await dbQuery<{ obj_id: number; last_update: string }>(db, 'SELECT obj_id, last_update FROM users')
        ).map((u) => [u.obj_id, u.last_update]),
      );
      for (const id of [1, 5]) {
        expect(
          after.get(id)! >= started && after.get(id)! <= ended,
          `user ${id}: ${after.get(id)} in [${started}, ${ended}]`,
        ).toBe(true);
      }
      expect(after.get(2)).toBe('2020-01-02T03:04:05.000Z');
      for (const id of [3, 4, 6]) expect(after.get(id)).toBe(before[id - 1]?.last_update);
    });
  });

  describe('control flow and globals', () => {
    it('console output is captured per user and capped', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'chatty.js',
        "for (let i = 0; i < 60 + user.obj_id; i++) console.log('line', i);\nconsole.warn('never shown');\n",
      );
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id le 2']);
      expect(run.code).toBe(0);
      for (const [id, dropped] of [
        [1, 12],
        [2, 13],
      ] as const) {
        const logs = itemFor(run, id)['logs'] as string[];
        expect(logs.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `line ${i}`));
        expect(logs.slice(50)).toHaveLength(1);
        expect(logs[50]).toMatch(new RegExp(`\\b${dropped} more lines\\b`));
      }
    });

    it('skip() discards changes, return ends early, row is null for a filter run, params and obj are there', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'flow.js',
        `console.log(JSON.stringify({ row, params, same: obj === user }));
if (user.obj_id === 1) { user.description = 'discarded'; user.profile_add('gold'); skip('not this one'); }
if (user.obj_id === 2) { user.profile_add(params.plan); return; }
if (user.obj_id === 3) return;
user.description = params.note;
`,
      );
      const before = await Promise.all([1, 3].map((id) => userRows(db, id)));
      const run = await runJson([
        'run',
        script,
        '--db',
        db,
        '--filter',
        'obj_id le 4',
        '--param',
        'plan=gold',
        '--param',
        'note=a=b c',
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.items.map((i) => [i['user_id'], i['status']])).toEqual([
        [1, 'skipped'],
        [2, 'changed'],
        [3, 'unchanged'],
        [4, 'changed'],
      ]);
      for (const item of run.items) {
        expect(parseLogs(item)).toEqual([{ row: null, params: { plan: 'gold', note: 'a=b c' }, same: true }]);
      }
      expect(itemFor(run, 1)['error']).toEqual({ message: 'not this one' });
      expect(itemFor(run, 1)['changes']).toEqual([]);
      expect(run.summary).toMatchObject({ selected: 4, changed: 2, unchanged: 1, skipped: 1, failed: 0 });
      expect(await userRows(db, 1)).toEqual(before[0]);
      expect(await userRows(db, 3)).toEqual(before[1]);
      expect(await profileNames(db, 2)).toEqual(['aaa-01', 'gold']);
      expect(
        await dbQuery(db, 'SELECT obj_id, description FROM users WHERE obj_id IN (2, 4) ORDER BY obj_id'),
      ).toEqual([
        { obj_id: 2, description: null },
        { obj_id: 4, description: 'a=b c' },
      ]);
    });
  });
});
