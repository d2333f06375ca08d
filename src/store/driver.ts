import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { Database } from './database.js';

/** A value that crosses into SQL as a bound parameter. */
export type SqlValue = string | number | boolean | null;

/** Connections a server database's pool holds: the writers (`maxWriters`) and readers at once. */
export const SERVER_POOL_SIZE = 10;

/** One parameterized statement. SQL uses `?` placeholders; drivers translate if they must. */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly SqlValue[];
  /**
   * The number of rows the statement must change. Any other count aborts the unit it runs in
   * with `StaleRowError`: that is how a write conditional on a row's version is checked.
   */
  readonly expectRows?: number;
}

/** How a database error reads to an admin, by kind rather than by one driver's wording. */
export type DbErrorKind =
  | { kind: 'unique'; table?: string | undefined; column?: string | undefined }
  /**
   * A lock wait, deadlock or serialization failure: trying again may succeed. `groupLost`: the
   * server rolled back the whole transaction, not just the statement (a deadlock in InnoDB), so
   * every earlier unit of the open group is gone too.
   */
  | { kind: 'busy'; groupLost?: boolean }
  | { kind: 'read-only' }
  /** The server cannot be reached (down, wrong host or port, refused). */
  | { kind: 'unreachable' }
  /** The server refused the credentials. */
  | { kind: 'auth' }
  /** The server is up but has no database of that name. */
  | { kind: 'no-database' }
  /** An open connection broke (server restarted, network cut, connection killed). */
  | { kind: 'connection-lost' }
  /** The server asked for SSL (the URL's `sslmode` / `ssl`) does not accept SSL connections. */
  | { kind: 'no-ssl' }
  /**
   * The database user lacks a privilege the statement needs (CREATE on the schema, INSERT on a
   * table, TRIGGER, …): nothing of that statement happened.
   */
  | { kind: 'privileges' }
  | { kind: 'other' };

/**
 * What differs between databases, as data rather than `if (dialect === …)` branches.
 */
export interface DialectCapabilities {
  /** Booleans are stored as 0/1 integers (SQLite, MySQL). */
  readonly booleansAsIntegers: boolean;
  /** SQL text reading a JSON-text column as a comparable scalar, e.g. `json_extract(x, '$')`. */
  jsonScalar(columnSql: string): string;
  /** SQL text casting a text column to a number for numeric comparisons. */
  castNumber(columnSql: string): string;
  /**
   * Appended to CREATE TABLE for tables keyed by their primary key (SQLite's `WITHOUT ROWID`):
   * one b-tree instead of two, so fewer pages written per user on the hot path.
   */
  readonly clusteredTableSuffix: string;
  /** SQL literal of a boolean as the dialect stores it: `1`/`0` (SQLite, MySQL), `TRUE`/`FALSE`. */
  booleanLiteral(value: boolean): string;
  /**
   * SQL expression for the current time as ISO-8601 UTC text with milliseconds
   * (`2026-01-31T12:00:00.000Z`), the form timestamps are stored in, so a view can compare
   * `expiration > now` as text. PostgreSQL would use `to_char(now() at time zone 'UTC', …)`.
   */
  readonly nowIsoText: string;
  /**
   * Starts a write transaction. SQLite takes its write lock up front (`BEGIN IMMEDIATE`), so a
   * group never fails half-way for want of it; servers lock row by row (`BEGIN`).
   */
  readonly beginWriteSql: string;
  /**
   * Statements creating the triggers that bump `users.version` on every write to a user's row
   * and to its profile, attribute and attr rows — whoever writes, usrun or another tool.
   */
  readonly userVersionTriggers: readonly string[];
  /**
   * The same for `profiles.version`: every write to a profile's row and to its own reply and
   * check rows (not its memberships, which are the users').
   */
  readonly profileVersionTriggers: readonly string[];
  /**
   * SQL letting a NOT NULL column hold NULL (`type` is its column type), e.g. PostgreSQL's
   * `ALTER TABLE t ALTER COLUMN c DROP NOT NULL` or MySQL's `ALTER TABLE t MODIFY c type NULL`;
   * null where a column cannot be altered (SQLite), and a migration rebuilds the table instead.
   */
  readonly dropNotNullSql: ((table: string, column: string, type: string) => string) | null;
  /**
   * The locking clause that claims a row no other transaction holds and passes over those that
   * are held (`FOR UPDATE SKIP LOCKED`: PostgreSQL, MariaDB 10.6+, MySQL 8), so several workers
   * share one run's chunks; null where the dialect has none (SQLite: one writer per file anyway),
   * and a run is then not split into chunks and cannot be joined.
   */
  readonly skipLockedSql: string | null;
  /** How many writers (connections with a transaction open) may work at once: SQLite has one. */
  readonly maxWriters: number;
  /**
   * Statements run once when `usrun init` makes a database usrun's, before the first migration
   * (SQLite: `PRAGMA journal_mode = WAL`, a property of the file). Never run on a database
   * init refused.
   */
  readonly initDatabaseSql: readonly string[];
  /** Classifies a driver error (unique violation, lock timeout, read-only database, …). */
  classifyError(error: unknown): DbErrorKind;
  /**
   * What `usrun init` needs of the database user, as the sentence's object in a message
   * ("`usrun init` needs …"): the README's list for this dialect.
   */
  readonly initPrivileges: string;
  /**
   * Where DDL is not transactional (MySQL/MariaDB: each statement commits at once, so a
   * migration failing half-way stays half-done), the statements `usrun init` tries on a scratch
   * table of the given name before any migration: every kind of DDL the migrations use, ending
   * with the table dropped, the first of them a `DROP TABLE IF EXISTS` that shows DROP is allowed
   * before anything is created. A user lacking a privilege is refused before anything is
   * written. Null where a failed migration rolls back whole (PostgreSQL, SQLite).
   */
  ddlProbeSql: ((table: string) => readonly string[]) | null;
  /**
   * Makes an integer primary key generated by the database: `autoincrement` (SQLite, MySQL) or
   * an identity column (PostgreSQL, which has no `autoIncrement`).
   */
  identity(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** Appended to every CREATE TABLE (MySQL: engine, character set and a case-sensitive collation). */
  readonly tableSuffix: string;
  /**
   * SQL text for `lower("table"."column")` (identifiers double-quoted: MySQL sessions run with
   * ANSI_QUOTES). Where the dialect cannot index an expression (MariaDB),
   * it names the indexed generated column holding it, so a case-insensitive match uses the index.
   * `table` and `column` come from usrun's own catalog, never from user input.
   */
  lowerColumn(table: string, column: string): string;
  /** Statements indexing `lower(column)` for case-insensitive lookups (see `lowerColumn`). */
  lowerIndexSql(table: string, column: string, indexName: string): readonly string[];
  /** What the dialect's SQL `lower()` does to text, in JS: keys grouped in JS must fold alike. */
  foldText(text: string): string;
  /** The ESCAPE clause of a LIKE whose escape character is a backslash, as SQL text. */
  readonly likeEscapeSql: string;
  /**
   * True when an INSERT can return the generated id (`RETURNING`); otherwise the driver reports
   * it as `insertId`.
   */
  readonly insertReturnsId: boolean;
  /**
   * After rows were inserted with explicit ids, moves the id generator past them (PostgreSQL's
   * identity sequences do not follow explicit ids); null where the generator follows by itself.
   */
  advanceIdentitySql(table: string, column: string): string | null;
  /**
   * How a unit names a row it created earlier in the same unit (`subquery` finds it by its
   * unique name): null where each statement may use the subquery itself. MySQL cannot read a
   * table in a statement whose triggers write that table (error 1442: the child tables' triggers
   * update `users`), so there the id is captured once into a session variable (`set`, run just
   * after the row exists) and statements name the variable (`ref`).
   */
  readonly captureId: ((name: string, subquery: string) => { set: string; ref: string }) | null;
}

/** Opening a store: only `usrun init` may create or migrate. */
export interface OpenOptions {
  readonly create: boolean;
  /**
   * The command only reads. A SQLite file is then opened read-only, so it works on a file or in
   * a folder the admin cannot write and creates no `-wal`/`-shm` files; servers ignore it.
   */
  readonly readOnly?: boolean;
}

/** One connection, lent for a while: everything run through it shares its session. */
export interface Connection {
  /** Reads rows. */
  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs one statement and resolves with the number of rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/**
 * The seam between usrun and a database. The core never imports a driver package: it uses
 * `kysely` for the queries it builds (filters, listings, migrations), and lent connections for
 * the per-user hot path, where compiling each statement again would cost more than the write.
 *
 * Transactions are not the driver's business: `src/store/writer.ts` drives them with standard
 * SQL (`beginWriteSql`, `SAVEPOINT`, `RELEASE SAVEPOINT`, `ROLLBACK TO SAVEPOINT`, `COMMIT`,
 * `ROLLBACK`) on one lent connection, so every dialect gets the same group-commit semantics.
 * A driver must therefore run each statement of a lent connection on that one session, in
 * call order, and never open or close a transaction of its own around it.
 */
export interface StoreDriver {
  readonly dialect: 'sqlite' | 'postgres' | 'mysql';
  /** Where the data lives, for messages (a path, or a URL without its password). */
  readonly location: string;
  readonly db: Kysely<Database>;
  readonly capabilities: DialectCapabilities;
  /** Reads rows on any connection (outside any write group). */
  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Lends one connection for `fn`'s duration, and takes it back however `fn` ends. */
  withConnection<T>(fn: (connection: Connection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
