import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { seedDemo } from '../../src/store/seed-demo.js';
import { usingStore } from '../../src/store/using-store.js';
import { closeCachedStores, restoreDb } from './db.js';

/** Every dialect usrun claims. Each test touching the store runs once per entry, against real servers. */
export const DIALECTS = ['sqlite', 'postgres', 'mysql'] as const;
export type Dialect = (typeof DIALECTS)[number];

/**
 * The test servers (`.ci/run` starts them). A server that cannot be reached fails the tests:
 * a dialect is never skipped.
 */
export const SERVERS = {
  postgres: process.env['USRUN_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  mysql: process.env['USRUN_TEST_MYSQL'] ?? 'mysql://root@127.0.0.1:3306/',
} as const;

/** The MariaDB server as usrun's own driver opens it (for `dbQuery`): a MySQL URL names a database. */
export const MYSQL_ADMIN = new URL('/mysql', SERVERS.mysql).toString();

interface Created {
  dialect: Dialect;
  name: string;
}

const created: Created[] = [];
let sqliteDir: string | undefined;

function withDatabase(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

async function onPostgres(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVERS.postgres });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function onMysql(statement: string): Promise<void> {
  const connection = await mysql.createConnection(SERVERS.mysql);
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}

async function onMysqlEach(
  query: string,
  statement: (row: Record<string, unknown>) => string,
): Promise<void> {
  const connection = await mysql.createConnection(SERVERS.mysql);
  try {
    const [rows] = await connection.query(query);
    for (const row of rows as Record<string, unknown>[]) {
      await connection.query(statement(row)).catch(() => undefined);
    }
  } finally {
    await connection.end();
  }
}

/**
 * A fresh, empty database of the dialect, for one test file (or one test): a new file in a
 * temporary folder for SQLite, `CREATE DATABASE usrun_t_<random>` on a server. `dropTestDbs`
 * removes them all.
 */
export async function testDbUrl(dialect: Dialect): Promise<string> {
  const name = `usrun_t_${randomBytes(5).toString('hex')}`;
  switch (dialect) {
    case 'sqlite':
      sqliteDir ??= mkdtempSync(join(tmpdir(), 'usrun-db-'));
      return join(sqliteDir, `${name}.db`);
    case 'postgres':
      await onPostgres(`CREATE DATABASE ${name}`);
      created.push({ dialect, name });
      return withDatabase(SERVERS.postgres, name);
    case 'mysql':
      await onMysql(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
      created.push({ dialect, name });
      return withDatabase(SERVERS.mysql, name);
  }
}

/** A fresh database with usrun's schema (`usrun init`), and `demo` generated users when given. */
export async function testStore(
  dialect: Dialect,
  options: { demo?: number; now?: Date } = {},
): Promise<string> {
  const location = await testDbUrl(dialect);
  await initDb(location, options.demo, options.now);
  return location;
}

/** Creates or migrates the schema of a database, optionally adding N demo users (as `usrun init --demo N`). */
export async function initDb(location: string, demo?: number, now?: Date): Promise<void> {
  await usingStore({ location, create: true }, async (store) => {
    if (demo !== undefined) await seedDemo(store, demo, { now });
  });
}

/** Drops every database `testDbUrl` made in this process (call it in afterAll). */
export async function dropTestDbs(): Promise<void> {
  reusable.clear();
  await closeCachedStores();
  for (const { dialect, name } of created.splice(0)) {
    if (dialect === 'postgres') await onPostgres(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    else {
      // Like PostgreSQL's WITH (FORCE): a connection left in a transaction would hold the drop.
      await onMysqlEach(
        `SELECT id FROM information_schema.processlist WHERE db = '${name}' AND id <> CONNECTION_ID()`,
        (row) => `KILL CONNECTION ${Number(row['id'])}`,
      );
      await onMysql(`DROP DATABASE IF EXISTS ${name}`);
    }
  }
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  sqliteDir = undefined;
}

/** The dialect of a test location. */
export function dialectOfLocation(location: string): Dialect {
  if (/^postgres(ql)?:/.test(location)) return 'postgres';
  if (/^(mysql|mariadb):/.test(location)) return 'mysql';
  return 'sqlite';
}

const reusable = new Map<Dialect, string>();

/**
 * An empty usrun database for one test: the file's own database of that dialect, created and
 * migrated on first use, then emptied (ids reset) for each later test — creating a server
 * database and its schema takes seconds, emptying it milliseconds. Tests of one file run one
 * after another, so they never share it at once.
 */
export async function freshStore(dialect: Dialect): Promise<string> {
  const existing = reusable.get(dialect);
  if (existing) {
    await restoreDb(existing, {});
    return existing;
  }
  const location = await testStore(dialect);
  reusable.set(dialect, location);
  return location;
}
