import { Kysely, MysqlDialect, sql, CompiledQuery } from 'kysely';
import { createPool } from 'mysql2';
import { connectionProblem } from '../../connection-problem.js';
import type { Database } from '../../database.js';
import { SERVER_POOL_SIZE, type OpenOptions, type StoreDriver } from '../../driver.js';
import { kyselyConnections } from '../kysely-connections.js';
import { parseServerUrl, redactUrl } from '../server-location.js';
import { mysqlCapabilities } from './capabilities.js';

/**
 * Each connection's session. Standard SQL where usrun's statements need it: `"before"` quotes an
 * identifier (ANSI_QUOTES), and strict mode refuses a value too long for its column instead of
 * cutting it. READ COMMITTED, PostgreSQL's default: InnoDB then locks the rows a write touches
 * and not the gaps between them, so writers committing groups in parallel do not deadlock over
 * neighbouring users' rows (a DELETE under REPEATABLE READ locks the gap up to the next user's).
 */
export const MYSQL_SESSION_SQL = [
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,ANSI_QUOTES'",
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
];

/**
 * Connects to a MariaDB or MySQL database given as a `mysql://` or `mariadb://` URL (query
 * parameters are mysql2 options, e.g. `?ssl={"rejectUnauthorized":true}`); a URL without a
 * password takes MYSQL_PWD. The first connection is made here (see openPostgres).
 */
export async function openMysql(url: string, options: OpenOptions): Promise<StoreDriver> {
  const location = redactUrl(url);
  const password = parseServerUrl(url, true).password ? undefined : process.env['MYSQL_PWD'];
  const pool = createPool({
    uri: url,
    ...(password ? { password } : {}),
    connectionLimit: SERVER_POOL_SIZE,
    connectTimeout: 10_000,
    charset: 'utf8mb4',
    // Rows matched, not rows whose values changed: what SQLite and PostgreSQL count, and what a
    // conditional write (expectRows) checks.
    flags: ['FOUND_ROWS'],
    decimalNumbers: true,
    dateStrings: true,
  });
  pool.on('connection', (c) => c.on('error', () => undefined));
  const db = new Kysely<Database>({
    dialect: new MysqlDialect({
      pool,
      onCreateConnection: async (connection) => {
        for (const text of MYSQL_SESSION_SQL) await connection.executeQuery(CompiledQuery.raw(text));
      },
    }),
  });
  try {
    await sql`SELECT 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw connectionProblem(error, mysqlCapabilities, location, options.create) ?? error;
  }
  return {
    dialect: 'mysql',
    location,
    db,
    capabilities: mysqlCapabilities,
    ...kyselyConnections(db, (text) => text),
    close: () => db.destroy(),
  };
}
