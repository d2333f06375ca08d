import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { readCsv } from '../../src/select/read-csv.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { importUsers } from '../../src/run/import-users.js';
import { usingStore } from '../../src/store/using-store.js';
import { DIALECTS, dropTestDbs, freshStore } from '../helpers/dialects.js';

const dir = mkdtempSync(join(tmpdir(), 'usrun-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterAll(dropTestDbs);

describe.each(DIALECTS)('%s', (dialect) => {
  let n = 0;
  function table(content: string) {
    const path = join(dir, `people${++n}.csv`);
    writeFileSync(path, content);
    return readCsv(path);
  }

  async function withStore<T>(fn: (store: StoreDriver) => Promise<T>): Promise<T> {
    return usingStore({ location: await freshStore(dialect), create: true }, fn);
  }

  async function dump(store: StoreDriver): Promise<string> {
    return JSON.stringify(await store.query('SELECT * FROM users ORDER BY obj_id'));
  }

  async function user(store: StoreDriver, username: string): Promise<Record<string, unknown>> {
    const [row] = await store.query<Record<string, unknown>>('SELECT * FROM users WHERE username = ?', [
      username,
    ]);
    if (!row) throw new Error(`no user ${username}`);
    return { ...row, is_active: Number(row['is_active']) };
  }

  async function importError(store: StoreDriver, content: string): Promise<string> {
    const error = await importUsers(store, table(content)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }

  const t0 = new Date('2026-01-31T12:00:00.000Z');
  const t1 = new Date('2026-02-01T08:30:00.000Z');

  describe('importUsers', () => {
    it('inserts new users with defaults, then counts inserted, updated and unchanged', async () => {
      await withStore(async (store) => {
        const first = table(
          'username,Email,is_active,expiration,organization_id,last_login\n' +
            'alice,alice@example.org,yes,2026-12-31,7,2026-01-02 10:00\n' +
            'bob,bob@example.org,0,,,2026-01-03T10:00:00+02:00\n' +
            'zoë,,TRUE,2027-01-01T00:00:00.5Z,,\n',
        );
        expect(await importUsers(store, first, { now: t0 })).toMatchObject({
          inserted: 3,
          updated: 0,
          unchanged: 0,
        });
        expect(await user(store, 'alice')).toMatchObject({
          email: 'alice@example.org',
          is_active: 1,
          expiration: '2026-12-31T00:00:00.000Z',
          organization_id: 7,
          last_login: '2026-01-02T10:00:00.000Z',
          username_length: 5,
          date_joined: t0.toISOString(),
          last_update: t0.toISOString(),
          first_name: null,
        });
        expect(await user(store, 'bob')).toMatchObject({
          is_active: 0,
          expiration: null,
          last_login: '2026-01-03T08:00:00.000Z',
        });
        expect(await user(store, 'zoë')).toMatchObject({
          email: null,
          username_length: 3,
          expiration: '2027-01-01T00:00:00.500Z',
        });

        const second = table(
          'username;email;is_active;expiration;first_name\n' +
            'alice;alice@example.org;true;2026-12-31T00:00:00Z;\n' + // same values, other spellings
            'bob;bob@example.net;false;;\n' +
            'carol;carol@example.org;1;;Carol\n',
        );
        expect(await importUsers(store, second, { now: t1 })).toMatchObject({
          inserted: 1,
          updated: 1,
          unchanged: 1,
        });
        expect(await user(store, 'alice')).toMatchObject({
          last_update: t0.toISOString(),
          organization_id: 7,
        });
        expect(await user(store, 'bob')).toMatchObject({
          email: 'bob@example.net',
          last_update: t1.toISOString(),
          date_joined: t0.toISOString(),
          last_login: '2026-01-03T08:00:00.000Z', // not in the file: left alone
        });
        expect(await user(store, 'carol')).toMatchObject({
          first_name: 'Carol',
          date_joined: t1.toISOString(),
        });
        expect(await importUsers(store, second, { now: t1 })).toMatchObject({
          inserted: 0,
          updated: 0,
          unchanged: 3,
        });
      });
    });

    it('takes last_update and username_length from the file when given', async () => {
      await withStore(async (store) => {
        const file = table('username,username_length,last_update\nalice,42,2025-05-05\nbob,,\n');
        expect(await importUsers(store, file, { now: t0 })).toMatchObject({
          inserted: 2,
          updated: 0,
          unchanged: 0,
        });
        expect(await user(store, 'alice')).toMatchObject({
          username_length: 42,
          last_update: '2025-05-05T00:00:00.000Z',
        });
        // An empty last_update cell stamps now; an empty username_length is NULL.
        expect(await user(store, 'bob')).toMatchObject({
          username_length: null,
          last_update: t0.toISOString(),
        });
      });
    });

    it('reports every bad row with its line and leaves the users table exactly as it was', async () => {
      await withStore(async (store) => {
        await importUsers(store, table('username,email\nalice,a@x.org\nbob,b@x.org\n'), { now: t0 });
        const before = await dump(store);
        const bad = table(
          'username,email,is_active,date_joined\n' +
            'alice,new@x.org,1,2026-01-01\n' +
            `carol,${'c'.repeat(250)}@x.org,maybe,2026-02-30\n` +
            'dave,d@x.org,no,\n' +
            'bob,"b@x.org",1,31/01/2026\n',
        );
        const error = await importUsers(store, bad).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UsageError);
        expect((error as UsageError).message).toBe(
          [
            `${bad.file}: 4 errors, nothing was imported:`,
            `${bad.file}:3: email: longer than 255 characters (256)`,
            `${bad.file}:3: is_active: not a boolean: "maybe" (use true/false, yes/no or 1/0)`,
            `${bad.file}:3: date_joined: not a date: "2026-02-30" (use YYYY-MM-DD or ISO-8601 like 2026-01-31T12:00:00Z)`,
            `${bad.file}:5: date_joined: not a date: "31/01/2026" (use YYYY-MM-DD or ISO-8601 like 2026-01-31T12:00:00Z)`,
          ].join('\n'),
        );
        expect(await dump(store)).toBe(before);
      });
    });

    it('validates required values, whole numbers, lengths and duplicate usernames', async () => {
      await withStore(async (store) => {
        const message = await importError(
          store,
          'username,organization_id,is_active\n' +
            ',1,1\n' +
            `${'u'.repeat(65)},1,1\n` +
            'ann,1.5,1\n' +
            'ann,2,1\n' +
            'bob,x,\n',
        );
        expect(message.split('\n').slice(1)).toEqual([
          expect.stringMatching(/:2: username: required$/),
          expect.stringMatching(/:3: username: longer than 64 characters \(65\)$/),
          expect.stringMatching(/:4: organization_id: not a whole number: "1.5"$/),
          expect.stringMatching(/:5: username: "ann" is also on line 4$/),
          expect.stringMatching(/:6: organization_id: not a whole number: "x"$/),
          expect.stringMatching(/:6: is_active: empty; use true or false$/),
        ]);
        expect(await dump(store)).toBe('[]');
      });
    });

    it('refuses a username differing from an existing one only in case', async () => {
      await withStore(async (store) => {
        await importUsers(store, table('username\nAlice\n'));
        const message = await importError(store, 'username,klass\nalice,staff\nBob,guest\nbob,guest\n');
        expect(message.split('\n').slice(1)).toEqual([
          expect.stringMatching(/:2: username: "alice" differs only in case from user "Alice" \(obj_id 1\)$/),
          expect.stringMatching(/:4: username: "bob" differs only in case from "Bob" on line 3$/),
        ]);
        expect(await importUsers(store, table('username,klass\nAlice,staff\n'))).toMatchObject({
          inserted: 0,
          updated: 1,
          unchanged: 0,
        });
      });
    });

    it('rejects unknown columns, obj_id and a file without username', async () => {
      await withStore(async (store) => {
        expect(await importError(store, 'username,plan,Note\nalice,gold,x\n')).toMatch(
          /: unknown columns "plan", "Note"; users import accepts username, username_length, .*organization_id/,
        );
        expect(await importError(store, 'obj_id,username\n1,alice\n')).toMatch(
          /column obj_id: obj_id is assigned by the database/,
        );
        expect(await importError(store, 'email\na@x.org\n')).toMatch(/: no username column/);
        expect(await dump(store)).toBe('[]');
      });
    });

    it('writes nothing on a dry run but counts the same', async () => {
      await withStore(async (store) => {
        await importUsers(store, table('username,klass\nalice,staff\n'), { now: t0 });
        const before = await dump(store);
        const file = table('username,klass\nalice,guest\nbob,guest\n');
        expect(await importUsers(store, file, { dryRun: true })).toMatchObject({
          inserted: 1,
          updated: 1,
          unchanged: 0,
        });
        expect(await dump(store)).toBe(before);
        expect(await importUsers(store, file)).toMatchObject({ inserted: 1, updated: 1, unchanged: 0 });
      });
    });

    it('stores hostile text as data', async () => {
      await withStore(async (store) => {
        const file = table(`username,description\n"x'); DROP TABLE users; --","a ""quoted"" note"\n`);
        expect(await importUsers(store, file)).toMatchObject({ inserted: 1, updated: 0, unchanged: 0 });
        expect(await user(store, "x'); DROP TABLE users; --")).toMatchObject({
          description: 'a "quoted" note',
        });
      });
    });
  });
});
