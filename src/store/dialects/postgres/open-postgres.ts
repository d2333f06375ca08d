import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { connectionProblem } from '../../connection-problem.js';
import type { Database } from '../../database.js';
import {
  SERVER_POOL_SIZE,
  type Connection,
  type OpenOptions,
  type SqlValue,
  type StoreDriver,
} from '../../driver.js';
import { kyselyConnections, numberedPlaceholders } from '../kysely-connections.js';
import { parseServerUrl, redactUrl } from '../server-location.js';
import { postgresCapabilities } from './capabilities.js';

const INT8 = 20;
const NUMERIC = 1700;

/**
 * Connects to a PostgreSQL database given as a `postgres://` or `postgresql://` URL. node-postgres
 * reads what the URL leaves out the usual way (PGHOST, PGUSER, PGPASSWORD, ~/.pgpass, `sslmode`).
 * The first connection is made here, so a server that is down, a refused login or a missing
 * database fail at once with a message naming the URL (without password), and nothing is written.
 */
export async function openPostgres(url: string, options: OpenOptions): Promise<StoreDriver> {
  const location = redactUrl(url);
  // Without a database name, PostgreSQL's own default: the user's name.
  parseServerUrl(url, false);
  const pool = new pg.Pool({
    connectionString: url,
    // What an admin sees in pg_stat_activity (a URL's application_name wins).
    application_name: 'usrun',
    max: SERVER_POOL_SIZE,
    connectionTimeoutMillis: 10_000,
    // Counts and sums arrive as int8/numeric text; usrun's numbers stay far below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 || oid === NUMERIC
          ? Number
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // A client whose server goes away emits 'error' (idle in the pool, or lent to a writer between
  // two statements): without a listener that would end the process. The next query on it fails
  // and reports the lost connection instead.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`SELECT 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw connectionProblem(error, postgresCapabilities, location, options.create) ?? error;
  }
  return {
    dialect: 'postgres',
    location,
    db,
    capabilities: postgresCapabilities,
    // Reads go through kysely's pool; the writer's lent connection is a pool client of its own.
    query: kyselyConnections(db, numberedPlaceholders).query,
    withConnection: (fn) => withClient(pool, fn),
    close: () => db.destroy(),
  };
}

/** At most this many statement texts get a name (and their `$n` form kept), per process. */
const MAX_NAMED = 1000;
const named = new Map<string, { text: string; name: string }>();

/**
 * A statement of usrun's hot path by its name: each session parses and plans it once and then
 * only binds and runs it, where an unnamed statement is parsed and planned again every time —
 * most of the server's work for a one-row write. Texts past MAX_NAMED run unnamed.
 */
function prepared(sql: string): { text: string; name?: string } {
  const known = named.get(sql);
  if (known) return known;
  const text = numberedPlaceholders(sql);
  if (named.size >= MAX_NAMED) return { text };
  const entry = { text, name: `usrun_${named.size + 1}` };
  named.set(sql, entry);
  return entry;
}

/**
 * Lends a pooled client for `fn` (the writer's connection). Its writes with parameters run as
 * named statements; anything else (SAVEPOINT, COMMIT, reads) as before. A client whose
 * connection was lost is dropped from the pool instead of lent again.
 */
async function withClient<T>(pool: pg.Pool, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const connection: Connection = {
    query: async <R>(sql: string, params: readonly SqlValue[] = []) =>
      (await client.query(numberedPlaceholders(sql), [...params])).rows as R[],
    execute: async (sql, params = []) => {
      const result =
        params.length === 0
          ? await client.query(sql)
          : await client.query({ ...prepared(sql), values: [...params] });
      return result.rowCount ?? 0;
    },
  };
  try {
    return await fn(connection);
  } catch (error) {
    if (postgresCapabilities.classifyError(error).kind === 'connection-lost') lost = error as Error;
    throw error;
  } finally {
    client.release(lost);
  }
}
