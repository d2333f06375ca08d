import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { dbQuery, withDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testDbUrl, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';

/**
 * `usrun init` on a database that is not usrun's (refused unless --allow-foreign) and on one a
 * newer usrun upgraded (refused, every command): one line saying why and what to do, exit 2,
 * nothing written.
 */

afterAll(async () => {
  await dropTestDbs();
});

const tablesOf = (db: string) =>
  withDb(db, async (store) =>
    (await store.db.introspection.getTables({ withInternalKyselyTables: true })).map((t) => t.name).sort(),
  );

describe.each(DIALECTS)('init on %s', (dialect) => {
  it("refuses a non-empty database that is not usrun's, says how to go on, writes nothing", async () => {
    const db = await testDbUrl(dialect);
    if (dialect === 'sqlite') writeFileSync(db, ''); // an empty file is an empty SQLite database
    await dbQuery(db, 'CREATE TABLE accounts (id integer PRIMARY KEY, owner varchar(20))');
    await dbQuery(db, "INSERT INTO accounts (id, owner) VALUES (1, 'someone else')");
    const bytes = dialect === 'sqlite' ? readFileSync(db) : null;

    const r = await usrun(['init', '--db', db]);
    expect(r.stderr).toMatch(
      /^usrun: .* is not empty and is not a usrun database \(it holds other tables: accounts\); nothing was written\. .*`usrun init --db .* --allow-foreign`/,
    );
    expect(r.code).toBe(2);
    expect(await tablesOf(db)).toEqual(['accounts']);
    if (bytes) expect(readFileSync(db).equals(bytes)).toBe(true); // not even the WAL flag

    // Other commands name the problem too, rather than "run usrun init".
    const list = await usrun(['users', 'list', '--db', db]);
    expect(list.stderr).toContain('is not a usrun database (it holds other tables: accounts)');
    expect(list.code).toBe(2);

    const forced = await usrun(['init', '--db', db, '--allow-foreign']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await tablesOf(db)).toContain('users');
    expect(await dbQuery(db, 'SELECT owner FROM accounts')).toEqual([{ owner: 'someone else' }]);
    expect((await usrun(['users', 'list', '--db', db])).code).toBe(0);
  });

  it('an empty database and a usrun database are fine without the flag', async () => {
    const db = await testDbUrl(dialect);
    expect((await usrun(['init', '--db', db])).code).toBe(0);
    const again = await usrun(['init', '--db', db]);
    expect(again.code, again.stderr).toBe(0);
  });

  it('refuses a database upgraded by a newer usrun, in init and every other command', async () => {
    const db = await testStore(dialect, { demo: 2 });
    await dbQuery(db, "INSERT INTO kysely_migration (name, timestamp) VALUES ('0099_future', '2030-01-01')");
    const tables = await tablesOf(db);
    for (const args of [['init'], ['users', 'list'], ['filters', 'save', 'x', 'is_active eq true']]) {
      const r = await usrun([...args, '--db', db]);
      expect(r.stderr).toMatch(
        /^usrun: .* was upgraded by a newer usrun \(migration 0099_future; this usrun knows up to \d{4}_\w+\): use that newer usrun, nothing was changed\n$/,
      );
      expect(r.code).toBe(2);
    }
    expect(await tablesOf(db)).toEqual(tables);
    expect(await dbQuery(db, 'SELECT name FROM filters')).toEqual([]);
  });
});
