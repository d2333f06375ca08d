import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, type CliResult } from '../helpers/cli.js';
import { closeCachedStores, dbCount, dbQuery } from '../helpers/db.js';
import { dropTestDbs, MYSQL_ADMIN, SERVERS, testDbUrl, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { writeFile } from '../helpers/run-fixtures.js';

/**
 * What an admin sees when the database user lacks a privilege a command needs (README,
 * "PostgreSQL and MariaDB/MySQL"): one line naming the URL without its password, the server's
 * own words and what usrun needs, exit 2, and nothing written — no usrun table after a refused
 * init (on MariaDB, whose DDL is not transactional, not even half a migration), no journal row
 * after a refused run. A run stopped half-way by a missing privilege keeps its journal whole.
 * And a URL asking for SSL of a server without it.
 */

type Server = 'postgres' | 'mysql';
const PASSWORD = 's3cret-priv';

const tmp = tempDir('usrun-privileges-');
const accounts: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of accounts.splice(0)) await drop();
  await dropTestDbs();
  tmp.cleanup();
});

function dbName(db: string): string {
  return new URL(db).pathname.slice(1);
}

/**
 * A database user of a random name (other test files use the same servers at once) that may do
 * only what `grants` give it (`USER` stands for its name, `DB` for the database's), and the URL
 * of `db` as that user, with a password. Dropped in afterAll.
 */
async function account(dialect: Server, db: string, grants: readonly string[]): Promise<string> {
  const user = `usrun_u_${randomBytes(5).toString('hex')}`;
  const fill = (text: string) => text.replaceAll('USER', user).replaceAll('DB', dbName(db));
  if (dialect === 'postgres') {
    await dbQuery(SERVERS.postgres, `CREATE ROLE ${user} LOGIN`);
    accounts.push(async () => {
      await closeCachedStores();
      await dbQuery(db, `DROP OWNED BY ${user}`);
      await dbQuery(SERVERS.postgres, `DROP ROLE ${user}`);
    });
  } else {
    await dbQuery(MYSQL_ADMIN, `CREATE USER '${user}'@'%' IDENTIFIED BY '${PASSWORD}'`);
    accounts.push(() => dbQuery(MYSQL_ADMIN, `DROP USER '${user}'@'%'`).then(() => undefined));
  }
  for (const grant of grants) await dbQuery(dialect === 'postgres' ? db : MYSQL_ADMIN, fill(grant));
  const url = new URL(db);
  url.username = user;
  url.password = PASSWORD;
  return url.toString();
}

/** The URL as messages show it: without its password. */
const shown = (url: string) => url.replace(`:${PASSWORD}@`, '@');

async function tablesOf(dialect: Server, db: string): Promise<string[]> {
  const rows = await dbQuery<{ name: string }>(
    db,
    dialect === 'postgres'
      ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
      : 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()',
  );
  return rows.map((r) => r.name);
}

/** One line on stderr, exit 2, nothing on stdout, no password, no stack. */
function expectOneLine(r: CliResult): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toContain(PASSWORD);
  expect(r.stderr).not.toContain('unexpected error');
}

/** What the test user may do: nothing at all on a new database / only read usrun's tables. */
const READ_ONLY: Record<Server, readonly string[]> = {
  postgres: ['GRANT SELECT ON ALL TABLES IN SCHEMA public TO USER'],
  mysql: ["GRANT SELECT ON DB.* TO 'USER'@'%'"],
};
const JOURNAL_TABLES = ['runs', 'run_items', 'run_changes', 'run_chunks', 'run_workers', 'scripts'];
/** Reads everything, writes the journal, but may not change a user. */
const JOURNAL_ONLY: Record<Server, readonly string[]> = {
  postgres: [...READ_ONLY.postgres, `GRANT INSERT, UPDATE, DELETE ON ${JOURNAL_TABLES.join(', ')} TO USER`],
  mysql: [
    ...READ_ONLY.mysql,
    ...JOURNAL_TABLES.map((t) => `GRANT INSERT, UPDATE, DELETE ON DB.${t} TO 'USER'@'%'`),
  ],
};

describe.each(['postgres', 'mysql'] as const)('%s: a privilege the database user lacks', (dialect) => {
  it('init without the right to create tables: one line, exit 2, no table created', async () => {
    const db = await testDbUrl(dialect);
    // PostgreSQL 15 gives no one but the owner CREATE on schema public; on MariaDB, SELECT only.
    const url = await account(dialect, db, dialect === 'postgres' ? [] : READ_ONLY.mysql);
    const r = await usrun(['init', '--db', url]);
    expectOneLine(r);
    expect(r.stderr).toContain(`usrun: the database user lacks a privilege on ${shown(url)} (`);
    // MariaDB: DROP is what init tries first (on a scratch table, before creating anything).
    expect(r.stderr).toMatch(
      dialect === 'postgres' ? /\(permission denied for schema public\)/ : /\((DROP|CREATE) command denied/,
    );
    expect(r.stderr).toContain('`usrun init` needs CREATE');
    expect(r.stderr).toContain('nothing was written');
    expect(await tablesOf(dialect, db)).toEqual([]);
  });

  it('a command on a database the user may not read: one line, exit 2', async () => {
    const db = await testStore(dialect);
    const url = await account(dialect, db, []);
    const r = await usrun(['users', 'list', '--db', url]);
    expectOneLine(r);
    expect(r.stderr).toContain(`usrun: the database user lacks a privilege on ${shown(url)} (`);
    expect(r.stderr).toContain("usrun needs SELECT, INSERT, UPDATE and DELETE on usrun's tables");
  });

  it('a run as a read-only user: one line, exit 2, no journal row', async () => {
    const db = await testStore(dialect, { demo: 5 });
    const url = await account(dialect, db, READ_ONLY[dialect]);
    const script = writeFile(tmp.dir, `ro-${dialect}.js`, "user.description = 'touched';\n");
    const r = await usrun(['run', script, '--db', url, '--all', '--yes']);
    expectOneLine(r);
    expect(r.stderr).toContain(`usrun: the database user lacks a privilege on ${shown(url)} (`);
    expect(r.stderr).toMatch(dialect === 'postgres' ? /permission denied for table/ : /command denied/);
    expect(r.stderr).toContain("usrun needs SELECT, INSERT, UPDATE and DELETE on usrun's tables");
    expect(await dbCount(db, 'SELECT count(*) AS n FROM runs')).toBe(0);
    expect(await dbCount(db, "SELECT count(*) AS n FROM users WHERE description = 'touched'")).toBe(0);
  });

  it('a run whose user may write the journal but not the users: stopped, exit 3, journal whole', async () => {
    const db = await testStore(dialect, { demo: 5 });
    const url = await account(dialect, db, JOURNAL_ONLY[dialect]);
    const script = writeFile(tmp.dir, `journal-${dialect}.js`, "user.description = 'touched';\n");
    const r = await usrun(['run', script, '--db', url, '--all', '--yes']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).not.toContain(PASSWORD);
    expect(r.stderr).not.toContain('unexpected error');
    expect(r.stderr).toContain(`usrun: the database user lacks a privilege on ${shown(url)} (`);
    expect(r.stderr).toContain(
      `usrun: run 1 interrupted; what was committed stays; once the user has them, finish the run with: usrun run --resume 1 --db ${shown(url)}`,
    );
    // Not one user's failure recorded per user: the run stopped, its open group rolled back.
    expect(await dbQuery(db, 'SELECT status FROM runs')).toEqual([{ status: 'interrupted' }]);
    expect(await dbCount(db, 'SELECT count(*) AS n FROM run_items')).toBe(0);
    expect(await dbCount(db, 'SELECT count(*) AS n FROM run_changes')).toBe(0);
    expect(await dbCount(db, "SELECT count(*) AS n FROM users WHERE description = 'touched'")).toBe(0);
  });
});

describe('mysql: init, whose DDL is not transactional, tries what the migrations need first', () => {
  const ALL_BUT = (missing: string) => [
    `GRANT ${[
      'CREATE',
      'ALTER',
      'INDEX',
      'TRIGGER',
      'DROP',
      'REFERENCES',
      'SELECT',
      'INSERT',
      'UPDATE',
      'DELETE',
    ]
      .filter((p) => p !== missing)
      .join(', ')} ON DB.* TO 'USER'@'%'`,
  ];

  it.each(['TRIGGER', 'DROP'])(
    'without %s: refused before any migration, nothing left behind, and init as root works after',
    async (missing) => {
      const db = await testDbUrl('mysql');
      const url = await account('mysql', db, ALL_BUT(missing));
      const r = await usrun(['init', '--db', url]);
      expectOneLine(r);
      expect(r.stderr).toContain(`usrun: the database user lacks a privilege on ${shown(url)} (`);
      expect(r.stderr).toContain(`${missing} command denied`);
      expect(r.stderr).toContain('`usrun init` needs CREATE, ALTER, INDEX, TRIGGER and DROP');
      expect(await tablesOf('mysql', db)).toEqual([]);

      const root = await usrun(['init', '--db', db]);
      expect(root.stderr).toBe('');
      expect(root.code).toBe(0);
      const list = await usrun(['users', 'list', '--db', db]);
      expect(list.code, list.stderr).toBe(0);
    },
  );
});

describe('a URL asking for SSL of a server without it: one line, exit 2', () => {
  it.each([
    ['postgres', () => `${new URL('/postgres', SERVERS.postgres).toString()}?sslmode=require`],
    ['mysql', () => `${MYSQL_ADMIN}?ssl=${encodeURIComponent('{"rejectUnauthorized":true}')}`],
  ] as const)('%s', async (_, location) => {
    const url = location();
    for (const args of [
      ['users', 'list', '--db', url],
      ['init', '--db', url],
    ]) {
      const r = await usrun(args);
      expectOneLine(r);
      expect(r.stderr).toMatch(/^usrun: the database server of \S+ does not accept SSL connections \(/);
      expect(r.stderr).toContain(
        'drop the SSL setting from the URL (sslmode=…, ssl=…) or enable SSL on the server',
      );
    }
  });
});
