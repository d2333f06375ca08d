import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { connectionProblem } from '../../connection-problem.js';
import type { Database } from '../../database.js';
import type { OpenOptions, StoreDriver } from '../../driver.js';
import { kyselyConnections, numberedPlaceholders } from '../kysely-connections.js';
import { redactUrl } from '../server-location.js';
import { postgresCapabilities } from './capabilities.js';

const INT8 = 20;
const NUMERIC = 1700;

/**
 * Connects to a PostgreSQL database given as a `postgres://` or `postgresql://` URL. node-postgres
 * reads what the URL leaves out the usual way (PGHOST, PGUSER, PGPASSWORD, ~/.pgpass, `sslmode`).
 * The first connection is made here, so a server that is down, a refused login or a missing
 * database fail at once with a message naming the URL (without password), and nothing is written.
 */
export async function openPostgres(url: string, _options: OpenOptions): Promise<StoreDriver> {
  const location = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    // What an admin sees in pg_stat_activity (a URL's application_name wins).
    application_name: 'usrun',
    // Writers (capabilities.maxWriters) and readers at once.
    max: 10,
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
    throw connectionProblem(error, postgresCapabilities, location) ?? error;
  }
  return {
    dialect: 'postgres',
    location,
    db,
    capabilities: postgresCapabilities,
    ...kyselyConnections(db, numberedPlaceholders),
    close: () => db.destroy(),
  };
}
