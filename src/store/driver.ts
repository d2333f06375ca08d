import type { Kysely } from 'kysely';
import type { Database } from './database.js';

/** A value that crosses into SQL as a bound parameter. */
export type SqlValue = string | number | boolean | null;

/** One parameterized statement. SQL uses `?` placeholders; drivers translate if they must. */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

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
}

/**
 * The seam between usrun and a database. The core never imports a driver package: it uses
 * `kysely` for queries it builds (filters, listings, migrations) and the two fast-path methods
 * for the per-user hot path, where compiling and preparing each statement again would cost more
 * than the write itself.
 */
export interface StoreDriver {
  readonly dialect: 'sqlite' | 'postgres' | 'mysql';
  /** Where the data lives, for messages (a path, or a URL without its password). */
  readonly location: string;
  readonly db: Kysely<Database>;
  readonly capabilities: DialectCapabilities;
  /** Reads rows with a cached prepared statement. */
  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs the statements in one transaction: all of them, or none (the error is rethrown). */
  writeBatch(statements: readonly SqlStatement[]): Promise<void>;
  /**
   * Runs `fn` inside one transaction that is always rolled back (dry runs). Every `writeBatch`
   * in it becomes a nested, all-or-nothing step whose effects `fn`'s own later reads see — so a
   * dry run takes the identical path and sees what a real run would — and nothing is written.
   */
  rehearse<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
