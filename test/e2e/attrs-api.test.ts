import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, tempDir } from '../helpers/cli.js';
import { advanceIdentity, dbQuery, dumpDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';

/**
 * `user.attr` end to end (SPEC §4, seed zato-sso-user-attr-set.txt): the Zato SSO attribute API
 * through the real CLI and SQLite, expiry as later runs, filters and `users show` see it, and
 * `usrun attrs purge`.
 */

const tmp = tempDir('usrun-attrs-api-');
const KEY = 'c3'.repeat(32);
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

describe.each(DIALECTS)('%s', (dialect) => {
  let db = '';

  type Row = Record<string, any>;

  function script(name: string, text: string): string {
    const path = join(tmp.dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** `usrun run … --json`: exit code, items and summary. */
  async function run(args: string[], env: Record<string, string> = {}, where = db) {
    const r = await usrun(['run', ...args, '--db', where, '--json'], { env });
    const lines = ndjson(r.stdout);
    const summary = lines.at(-1)?.['summary'] as Row | undefined;
    if (!summary) throw new Error(`no summary (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    return { ...r, items: lines.slice(0, -1), summary };
  }

  const attrRows = (userId: number, where = db) =>
    dbQuery<Row>(where, 'SELECT * FROM user_attrs WHERE user_id = ? ORDER BY name', [userId]);
  const attr = async (userId: number, name: string) =>
    (await dbQuery<Row>(db, 'SELECT * FROM user_attrs WHERE user_id = ? AND name = ?', [userId, name]))[0];
  const secondsFromNow = (iso: string) => (Date.parse(iso) - Date.now()) / 1000;
  /** The console lines of an item, each parsed as JSON (scripts log JSON.stringify([...])). */
  const logsOf = (item: Row | undefined) =>
    ((item?.['logs'] as string[]) ?? []).map((l) => JSON.parse(l) as unknown[]);

  beforeAll(async () => {
    db = await testStore(dialect);
    await dbQuery(
      db,
      "INSERT INTO users (obj_id, username) VALUES (1, 'ann'), (2, 'bob'), (3, 'cyd'), (4, 'dee')",
    );
    await advanceIdentity(db, 'users');
    await dbQuery(
      db,
      `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at)
     VALUES (1, 'plan', '"silver"', ?, NULL, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`,
      [false],
    );
  });

  describe('user.attr', () => {
    it('set / get / exists / names / delete, and what is stored', async () => {
      const path = script(
        'basic.js',
        `const log = (...a) => console.log(JSON.stringify(a));
log('start', user.attr.names(), user.attr.get('plan'), user.attr.exists('plan'), user.attr.exists('nope'), user.attr.get('nope'));
user.attr.set('plan', 'gold');
user.attr.set('count', 3);
log('set', user.attr.get('plan'), user.attr.get('count'), user.attr.exists('count'), user.attr.names().sort());
log('delete', user.attr.delete('count'), user.attr.delete('count'), user.attr.exists('count'), user.attr.get('count'));
user.attr.set('kept', { a: [1, 2] });
`,
      );
      const r = await run([path, '--filter', 'obj_id le 2']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.items.map((i) => i['status'])).toEqual(['changed', 'changed']);
      const [ann, bob] = r.items;
      expect(logsOf(ann)).toEqual([
        ['start', ['plan'], 'silver', true, false, null],
        ['set', 'gold', 3, true, ['count', 'plan']],
        ['delete', true, false, false, null],
      ]);
      expect(logsOf(bob)).toEqual([
        ['start', [], null, false, false, null],
        ['set', 'gold', 3, true, ['count', 'plan']],
        ['delete', true, false, false, null],
      ]);
      // 'count' was set and deleted in the same run: no row; 'plan' updated in place for ann.
      expect(
        (await attrRows(1)).map((a) => [a['name'], a['value'], a['is_encrypted'], a['expires_at']]),
      ).toEqual([
        ['kept', '{"a":[1,2]}', 0, null],
        ['plan', '"gold"', 0, null],
      ]);
      expect((await attr(1, 'plan'))?.['created_at']).toBe('2024-01-01T00:00:00.000Z');
      expect((await attrRows(2)).map((a) => [a['name'], a['value']])).toEqual([
        ['kept', '{"a":[1,2]}'],
        ['plan', '"gold"'],
      ]);
      const planChange = (ann?.['changes'] as Row[]).find(
        (c) => c['kind'] === 'attr' && c['target'] === 'plan',
      );
      expect(planChange?.['before']).toMatchObject({
        value: '"silver"',
        is_encrypted: false,
        expires_at: null,
      });
      expect(planChange?.['after']).toMatchObject({ value: '"gold"', is_encrypted: false, expires_at: null });
      expect((ann?.['changes'] as Row[]).some((c) => c['target'] === 'count')).toBe(false);
    });

    it("set_many: per-entry expiration and encrypt override the call's defaults", async () => {
      // A database of its own: once any attr is encrypted, scripts that read attrs need the key.
      const own = await testStore(dialect);
      await dbQuery(own, "INSERT INTO users (obj_id, username) VALUES (3, 'cyd')");
      const path = script(
        'many.js',
        `user.attr.set_many(
  [
    { name: 'm-default', value: 'd' },
    { name: 'm-longer', value: 'l', expiration: 100, encrypt: false },
    { name: 'm-never', value: 'n', expiration: null },
    { name: 'm-plain', value: 'p', encrypt: false },
  ],
  50,
  true,
);
`,
      );
      const r = await run([path, '--filter', 'obj_id eq 3'], { USRUN_KEY: KEY }, own);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const rows = Object.fromEntries((await attrRows(3, own)).map((a) => [a['name'], a]));
      expect(Object.keys(rows).sort()).toEqual(['m-default', 'm-longer', 'm-never', 'm-plain']);
      // encrypt: the call's true unless the entry says false.
      expect([
        rows['m-default']?.['is_encrypted'],
        rows['m-longer']?.['is_encrypted'],
        rows['m-never']?.['is_encrypted'],
        rows['m-plain']?.['is_encrypted'],
      ]).toEqual([1, 0, 1, 0]);
      expect(rows['m-longer']?.['value']).toBe('"l"');
      expect(rows['m-plain']?.['value']).toBe('"p"');
      expect(rows['m-default']?.['value']).not.toBe('"d"');
      // expiration: the call's 50 s unless the entry gives its own (null = never).
      expect(secondsFromNow(rows['m-default']?.['expires_at'] as string)).toBeGreaterThan(35);
      expect(secondsFromNow(rows['m-default']?.['expires_at'] as string)).toBeLessThanOrEqual(50);
      expect(secondsFromNow(rows['m-plain']?.['expires_at'] as string)).toBeLessThanOrEqual(50);
      expect(secondsFromNow(rows['m-plain']?.['expires_at'] as string)).toBeGreaterThan(35);
      expect(secondsFromNow(rows['m-longer']?.['expires_at'] as string)).toBeGreaterThan(85);
      expect(secondsFromNow(rows['m-longer']?.['expires_at'] as string)).toBeLessThanOrEqual(100);
      expect(rows['m-never']?.['expires_at']).toBeNull();
    });

    it('create / update / set_expiry: create on an existing name and update on a missing one fail that user', async () => {
      const csv = join(tmp.dir, 'ops.csv');
      writeFileSync(
        csv,
        [
          'obj_id,op',
          '4,create-new',
          '4,create-existing',
          '4,update-missing',
          '4,update-existing',
          '4,create_many-partly-existing',
          '4,update_many',
          '4,set_expiry',
          '4,set_expiry-missing',
          '',
        ].join('\n'),
      );
      const path = script(
        'ops.js',
        `switch (row.op) {
  case 'create-new': user.attr.create('c', 1); break;
  case 'create-existing': user.attr.create('c', 2); break;
  case 'update-missing': user.attr.update('u', 3); break;
  case 'update-existing': user.attr.update('c', 4); break;
  case 'create_many-partly-existing': user.attr.create_many([{ name: 'fresh', value: 5 }, { name: 'c', value: 6 }]); break;
  case 'update_many': user.attr.update_many([{ name: 'c', value: 7 }]); break;
  case 'set_expiry': user.attr.set_expiry('c', 600); break;
  case 'set_expiry-missing': user.attr.set_expiry('nothing-here', 600); break;
}
`,
      );
      const r = await run([path, '--csv', csv]);
      expect(r.code).toBe(1);
      expect(r.items.map((i) => [i['row']?.['op'], i['status']])).toEqual([
        ['create-new', 'changed'],
        ['create-existing', 'failed'],
        ['update-missing', 'failed'],
        ['update-existing', 'changed'],
        ['create_many-partly-existing', 'failed'],
        ['update_many', 'changed'],
        ['set_expiry', 'changed'],
        ['set_expiry-missing', 'failed'],
      ]);
      const error = (op: string) =>
        String(r.items.find((i) => i['row']?.['op'] === op)?.['error']?.['message']);
      expect(error('create-existing')).toMatch(/"c" already exists/);
      expect(error('update-missing')).toMatch(/"u" does not exist/);
      expect(error('create_many-partly-existing')).toMatch(/"c" already exists/);
      expect(error('set_expiry-missing')).toMatch(/"nothing-here" does not exist/);
      // A failed call writes nothing of that user: 'fresh' was never created.
      const rows = await attrRows(4);
      expect(rows.map((a) => a['name'])).toEqual(['c']);
      expect(rows[0]?.['value']).toBe('7');
      expect(secondsFromNow(rows[0]?.['expires_at'] as string)).toBeGreaterThan(580);
      expect(secondsFromNow(rows[0]?.['expires_at'] as string)).toBeLessThanOrEqual(600);
    });

    it('stores values of every JSON type and gives them back as they were', async () => {
      const values = {
        str: 'héllo "wörld" ✓',
        empty: '',
        int: 42,
        neg: -7.25,
        big: 12345678901234,
        yes: true,
        no: false,
        nil: null,
        arr: [1, 'two', null, [3], { four: 4 }],
        obj: { nested: { deep: ['x'] }, n: 0 },
        emptyObj: {},
        emptyArr: [],
      };
      const write = script(
        'write-values.js',
        `const values = ${JSON.stringify(values)};\nfor (const [k, v] of Object.entries(values)) user.attr.set('v-' + k, v);\n`,
      );
      const w = await run([write, '--filter', 'obj_id eq 2']);
      expect(w.code).toBe(0);
      for (const [k, v] of Object.entries(values))
        expect(JSON.parse((await attr(2, `v-${k}`))?.['value'] as string), k).toEqual(v);
      const read = script(
        'read-values.js',
        `const names = user.attr.names().filter((n) => n.startsWith('v-')).sort();
const got = user.attr.get_many(names);
console.log(JSON.stringify([names.map((n) => [n, user.attr.exists(n), typeof user.attr.get(n), Array.isArray(user.attr.get(n))]), got]));
`,
      );
      const r = await run([read, '--filter', 'obj_id eq 2']);
      expect(r.code).toBe(0);
      const [kinds, got] = logsOf(r.items[0])[0] as [unknown[][], Row];
      expect(got).toEqual(Object.fromEntries(Object.entries(values).map(([k, v]) => [`v-${k}`, v])));
      const typeOf = (v: unknown) => (v === null ? 'object' : typeof v);
      expect(kinds).toEqual(
        Object.keys(values)
          .sort()
          .map((k) => [
            `v-${k}`,
            true,
            typeOf(values[k as keyof typeof values]),
            Array.isArray(values[k as keyof typeof values]),
          ]),
      );

      const bad = script('bad-value.js', "user.attr.set('x', undefined);\n");
      const b = await run([bad, '--filter', 'obj_id eq 2']);
      expect(b.code).toBe(1);
      expect(b.items[0]?.['error']?.['message']).toMatch(/JSON/);
      expect(await attr(2, 'x')).toBeUndefined();
    });
  });

  describe('expiry', () => {
    let oneExpiresAt = '';
    let shortExpiresAt = '';

    beforeAll(async () => {
      // 'one' expires after 1 s; 'short' after 3 s, long enough to see it match first.
      const path = script(
        'expiring.js',
        "user.attr.set('one', 1, 1);\nuser.attr.set('short', 'soon gone', 3);\nuser.attr.set('long', 'stays', 3600);\n",
      );
      const r = await run([path, '--filter', 'obj_id eq 1 or obj_id eq 3']);
      expect(r.code).toBe(0);
      oneExpiresAt = (await attr(1, 'one'))?.['expires_at'] as string;
      shortExpiresAt = (await attr(1, 'short'))?.['expires_at'] as string;
      expect(secondsFromNow(oneExpiresAt)).toBeLessThanOrEqual(1);
      expect(secondsFromNow(shortExpiresAt)).toBeLessThanOrEqual(3);
    });

    it('hides an expired attr from later runs, filters and users show', async () => {
      const listed = async (f: string) =>
        ndjson((await usrun(['users', 'list', '--db', db, '--filter', f, '--json'])).stdout).map(
          (u) => u['obj_id'],
        );
      const shown = async () =>
        (JSON.parse((await usrun(['users', 'show', '1', '--db', db, '--json'])).stdout) as Row)[
          'attrs'
        ] as Row[];
      const read = script(
        'after-expiry.js',
        `const names = user.attr.names();
console.log(JSON.stringify([user.attr.get('one'), user.attr.exists('one'), names.includes('one'), names.includes('short'), user.attr.get('long')]));
`,
      );

      // While 'short' is live it matches and shows.
      expect(await listed('attrs[name eq "short"]')).toEqual([1, 3]);
      expect((await shown()).find((a) => a['name'] === 'short')).toMatchObject({
        value: 'soon gone',
        expires_at: shortExpiresAt,
      });
      expect(Date.now()).toBeLessThan(Date.parse(shortExpiresAt));

      // 'one' (1 s) is gone for a run ~1.5 s after it was set.
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(oneExpiresAt) - Date.now() + 500)));
      const r = await run([read, '--filter', 'obj_id eq 1']);
      expect(r.code).toBe(0);
      expect(r.items[0]?.['status']).toBe('unchanged');
      expect(logsOf(r.items[0])[0]?.slice(0, 3)).toEqual([null, false, false]);
      expect(logsOf(r.items[0])[0]?.[4]).toBe('stays');

      // 'short' gone too: for runs, filters (also as a run's selection) and users show.
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(shortExpiresAt) - Date.now() + 300)));
      const later = await run([read, '--filter', 'obj_id eq 1']);
      expect(logsOf(later.items[0])[0]?.[3]).toBe(false);
      expect(await listed('attrs[name eq "short"]')).toEqual([]);
      expect(await listed('attrs[name eq "long"]')).toEqual([1, 3]);
      expect(await listed('not attrs[name eq "short"]')).toEqual([1, 2, 3, 4]);
      const byFilter = await run([read, '--filter', 'attrs[name eq "short"]']);
      expect(byFilter.summary['selected']).toBe(0);
      const names = (await shown()).map((a) => a['name']);
      expect(names).toContain('long');
      expect(names).not.toContain('short');
      expect(names).not.toContain('one');
      const text = await usrun(['users', 'show', '1', '--db', db]);
      expect(text.stdout).toContain('long = "stays"');
      expect(text.stdout).not.toContain('soon gone');
      // The expired rows are still stored until purged.
      expect(await attr(1, 'short')).toBeDefined();
      expect(await attr(1, 'one')).toBeDefined();
    });

    it('lets a run create or set an expired name again (no unique clash)', async () => {
      const path = script(
        'over-expired.js',
        "if (user.obj_id === 1) user.attr.create('short', 'again');\nelse user.attr.set('short', { again: true });\n",
      );
      const r = await run([path, '--filter', 'obj_id eq 1 or obj_id eq 3']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.items.map((i) => i['status'])).toEqual(['changed', 'changed']);
      expect(
        await dbQuery(
          db,
          "SELECT user_id, value, expires_at FROM user_attrs WHERE name = 'short' ORDER BY user_id",
        ),
      ).toEqual([
        { user_id: 1, value: '"again"', expires_at: null },
        { user_id: 3, value: '{"again":true}', expires_at: null },
      ]);
      const change = (r.items[0]?.['changes'] as Row[]).find((c) => c['target'] === 'short');
      // The journal keeps the expired row as the before value, so undo can restore it.
      expect(change?.['before']).toMatchObject({ value: '"soon gone"', expires_at: shortExpiresAt });
    });

    it('usrun attrs purge deletes expired rows only and says how many', async () => {
      const past = new Date(Date.now() - 60_000).toISOString();
      const future = new Date(Date.now() + 3_600_000).toISOString();
      for (const [user, name, expires] of [
        [2, 'gone-1', past],
        [4, 'gone-2', past],
        [2, 'later', future],
      ] as const) {
        await dbQuery(
          db,
          `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at) VALUES (?, ?, '1', ?, ?, ?, ?)`,
          [user, name, false, expires, past, past],
        );
      }
      const before = await dumpDb(db);
      const expired = await dbQuery<Row>(
        db,
        'SELECT user_id, name FROM user_attrs WHERE expires_at IS NOT NULL AND expires_at <= ?',
        [new Date().toISOString()],
      );
      expect(expired.length).toBeGreaterThanOrEqual(2);
      const r = await usrun(['attrs', 'purge', '--db', db]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`purged ${expired.length} expired attrs`));
      const remaining = ((await dumpDb(db))['user_attrs'] ?? []) as Row[];
      expect(remaining).toEqual(
        (before['user_attrs'] as Row[]).filter(
          (a) => !expired.some((e) => e['user_id'] === a['user_id'] && e['name'] === a['name']),
        ),
      );
      expect(remaining.some((a) => a['name'] === 'later')).toBe(true);
      const again = await usrun(['attrs', 'purge', '--db', db, '--json']);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual({ deleted: 0 });
    });
  });
});
