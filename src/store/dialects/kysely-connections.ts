import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { Connection, SqlValue, StoreDriver } from '../driver.js';

type Run = (
  db: Kysely<Database>,
  sql: string,
  params: readonly SqlValue[],
) => Promise<{ rows: unknown[]; changed: number }>;

/**
 * The `query` / `withConnection` half of a server driver, on kysely's own pool: a lent connection
 * is kysely's `db.connection()`, one session for the callback, with no transaction around it.
 * `translate` turns usrun's `?` placeholders into the driver's.
 */
export function kyselyConnections(
  db: Kysely<Database>,
  translate: (sql: string) => string,
): Pick<StoreDriver, 'query' | 'withConnection'> {
  const run: Run = async (on, sql, params) => {
    const result = await on.executeQuery(CompiledQuery.raw(translate(sql), [...params]));
    return { rows: result.rows, changed: Number(result.numAffectedRows ?? 0n) };
  };
  const connectionOn = (on: Kysely<Database>): Connection => ({
    query: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await run(on, sql, params)).rows as T[],
    execute: async (sql, params = []) => (await run(on, sql, params)).changed,
  });
  return {
    query: connectionOn(db).query,
    withConnection: (fn) => db.connection().execute((one) => fn(connectionOn(one))),
  };
}

/** `?` placeholders as `$1, $2, …`, leaving quoted strings, identifiers and `$$` bodies alone. */
export function numberedPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '$' && sql[i + 1] === '$') {
      const end = sql.indexOf('$$', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  return out;
}
