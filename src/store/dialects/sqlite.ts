import { existsSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { UsageError } from '../../errors.js';
import type { Database } from '../database.js';
import type { DialectCapabilities, SqlValue, StoreDriver } from '../driver.js';

const capabilities: DialectCapabilities = {
  booleansAsIntegers: true,
  jsonScalar: (col) => `json_extract(${col}, '$')`,
  castNumber: (col) => `CAST(${col} AS REAL)`,
  clusteredTableSuffix: 'WITHOUT ROWID',
  booleanLiteral: (value) => (value ? '1' : '0'),
  nowIsoText: `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
};

function encode(value: SqlValue): string | number | null {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

/**
 * Opens a SQLite file (WAL, busy timeout, foreign keys on). With `create: false` a missing file
 * is a `UsageError` and nothing is created.
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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const write = raw.transaction((batch: readonly { sql: string; params: readonly SqlValue[] }[]) => {
    for (const s of batch) prepare(s.sql).run(...s.params.map(encode));
  });
  return {
    dialect: 'sqlite',
    location: path,
    db,
    capabilities,
    // async: a failing prepare or run must reject, not throw synchronously.
    query: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      prepare(sql).all(...params.map(encode)) as T[],
    // Inside rehearse()'s open transaction, better-sqlite3 nests this one as a SAVEPOINT.
    writeBatch: async (batch) => write(batch),
    rehearse: async (fn) => {
      raw.exec('BEGIN');
      try {
        return await fn();
      } finally {
        if (raw.inTransaction) raw.exec('ROLLBACK');
      }
    },
    close: async () => {
      await db.destroy();
    },
  };
}
