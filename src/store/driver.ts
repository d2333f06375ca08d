import type { Kysely } from 'kysely';
import type { Database } from './database.js';

/** A value that crosses into SQL as a bound parameter. */
export type SqlValue = string | number | boolean | null;

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
  /** A lock wait, deadlock or serialization failure: trying again may succeed. */
  | { kind: 'busy' }
  | { kind: 'read-only' }
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
   * SQL letting a NOT NULL column hold NULL (`type` is its column type), e.g. PostgreSQL's
   * `ALTER TABLE t ALTER COLUMN c DROP NOT NULL` or MySQL's `ALTER TABLE t MODIFY c type NULL`;
   * null where a column cannot be altered (SQLite), and a migration rebuilds the table instead.
   */
  readonly dropNotNullSql: ((table: string, column: string, type: string) => string) | null;
  /** How many writers (connections with a transaction open) may work at once: SQLite has one. */
  readonly maxWriters: number;
  /** Classifies a driver error (unique violation, lock timeout, read-only database, …). */
  classifyError(error: unknown): DbErrorKind;
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
