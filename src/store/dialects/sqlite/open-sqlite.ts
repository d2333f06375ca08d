import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { UsageError } from '../../../errors.js';
import type { Database } from '../../database.js';
import type { Connection, SqlValue, StoreDriver } from '../../driver.js';
import { sqliteCapabilities } from './capabilities.js';

function encode(value: SqlValue): string | number | null {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

/**
 * Opens a SQLite file (WAL, busy timeout, foreign keys on). With `create: false` a missing file
 * is a `UsageError` and nothing is created. One connection serves everything: kysely's queries,
 * reads, and the writer's lent connection (better-sqlite3 is synchronous, so nothing interleaves
 * inside a statement; a lent connection's transaction is simply this connection's).
 */
export function openSqlite(path: string, options: { create: boolean }): StoreDriver {
  if (path !== ':memory:' && !options.create && !existsSync(path)) {
    throw new UsageError(`no usrun database at ${path}: create it with \`usrun init --db ${path}\``);
  }
  let raw: BetterSqlite3.Database;
  try {
    raw = new BetterSqlite3(path, { fileMustExist: !options.create && path !== ':memory:' });
    // WAL is a property of the file: set it when init creates the database, never on a file
    // that another command merely opens (it might not be ours).
    if (options.create) raw.pragma('journal_mode = WAL');
    raw.pragma('busy_timeout = 5000');
    raw.pragma('foreign_keys = ON');
    // WAL + NORMAL never corrupts the file; a power cut may lose the last commits only.
    raw.pragma('synchronous = NORMAL');
    // A bigger page cache and fewer, larger checkpoints: a run rewrites the same index pages
    // for many users in a row, and each checkpoint then copies them to the file only once.
    raw.pragma('cache_size = -65536');
    raw.pragma('wal_autocheckpoint = 10000');
  } catch (error) {
    throw new UsageError(`cannot open ${path} as a SQLite database: ${(error as Error).message}`);
  }
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = raw.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  // async: a failing prepare or run must reject, not throw synchronously.
  const connection: Connection = {
    query: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      prepare(sql).all(...params.map(encode)) as T[],
    execute: async (sql, params = []) => {
      const statement = prepare(sql);
      if (statement.reader) {
        statement.all(...params.map(encode));
        return 0;
      }
      return statement.run(...params.map(encode)).changes;
    },
  };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  let lent = false;
  return {
    dialect: 'sqlite',
    location: path,
    db,
    capabilities: sqliteCapabilities,
    query: connection.query,
    withConnection: async (fn) => {
      // One connection: a second writer at once would share the first one's transaction.
      if (lent) throw new Error('the SQLite connection is already lent to a writer');
      lent = true;
      try {
        return await fn(connection);
      } finally {
        lent = false;
      }
    },
    close: async () => {
      await db.destroy();
    },
  };
}
