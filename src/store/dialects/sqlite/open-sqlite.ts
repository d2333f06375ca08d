import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { UsageError } from '../../../errors.js';
import type { Database } from '../../database.js';
import type { Connection, OpenOptions, SqlValue, StoreDriver } from '../../driver.js';
import { sqliteCapabilities } from './capabilities.js';

function encode(value: SqlValue): string | number | null {
  return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

// Lets a read-only open name the file as a URI with `immutable=1` (see `openReadOnly`). SQLite
// reads this setting once, when better-sqlite3 loads its addon at the first open.
process.env['SQLITE_USE_URI'] ??= '1';

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why this user cannot write the database at `path`, or null. SQLite writes the file and, in
 * its folder, the `-wal` and `-shm` files beside it (or a `-journal`): a folder the user cannot
 * write is enough to fail, unless those files are already there and writable.
 */
function writeProblem(path: string): string | null {
  if (!writable(path)) return 'the file is read-only for this user';
  const folder = dirname(resolve(path));
  const sidecars = [`${path}-wal`, `${path}-shm`];
  if (!writable(folder) && !sidecars.every((f) => existsSync(f) && writable(f))) {
    return `its folder ${folder} is not writable for this user (SQLite keeps ${path}-wal and -shm there)`;
  }
  return null;
}

/**
 * A read-only connection. With a `-wal` file present (a writer has the database open, or left
 * one), a plain read-only open reads it through the files already there. Without one the file
 * holds every commit, and `immutable=1` reads it without locks and without creating `-wal` /
 * `-shm` files, which would belong to this user and could lock out the file's owner (FreeRADIUS).
 */
function openReadOnly(path: string): BetterSqlite3.Database {
  const options = { readonly: true, fileMustExist: true };
  if (existsSync(`${path}-wal`)) return new BetterSqlite3(path, options);
  let raw: BetterSqlite3.Database | undefined;
  try {
    raw = new BetterSqlite3(`${pathToFileURL(resolve(path)).href}?immutable=1`, options);
    raw.prepare('SELECT 1 FROM sqlite_master LIMIT 1').all();
    return raw;
  } catch {
    // URIs off (better-sqlite3 was loaded before this module): a plain read-only open.
    raw?.close();
    return new BetterSqlite3(path, options);
  }
}

/**
 * Opens a SQLite file (WAL, busy timeout, foreign keys on). With `create: false` a missing file
 * is a `UsageError` and nothing is created. One connection serves everything: kysely's queries,
 * reads, and the writer's lent connection (better-sqlite3 is synchronous, so nothing interleaves
 * inside a statement; a lent connection's transaction is simply this connection's).
 */
export function openSqlite(path: string, options: OpenOptions): StoreDriver {
  if (path !== ':memory:' && !options.create && !existsSync(path)) {
    throw new UsageError(`no usrun database at ${path}: create it with \`usrun init --db ${path}\``);
  }
  const readOnly = (options.readOnly ?? false) && !options.create && path !== ':memory:';
  if (!readOnly && path !== ':memory:' && existsSync(path)) {
    const problem = writeProblem(path);
    if (problem) {
      throw new UsageError(
        `cannot write to ${path}: ${problem}; nothing was written. Commands that only read ` +
          '(users list/show, profiles list/show, filters list, runs list/show) still work on it',
      );
    }
  }
  let raw: BetterSqlite3.Database;
  try {
    raw = readOnly
      ? openReadOnly(path)
      : new BetterSqlite3(path, { fileMustExist: !options.create && path !== ':memory:' });
    // WAL is a property of the file: init sets it (capabilities.initDatabaseSql) once it has
    // checked the database is usrun's, never a command that merely opens it.
    raw.pragma('busy_timeout = 5000');
    raw.pragma('foreign_keys = ON');
    // A commit is on disk when it returns (WAL + FULL: the log is synced at every commit), so a
    // power cut loses no committed user — what the journal promises. With group commit that is
    // one sync per group; NORMAL would save it and could lose the last groups to a power cut.
    raw.pragma('synchronous = FULL');
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
