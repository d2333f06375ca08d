import { UsageError } from '../errors.js';
import type { DialectCapabilities } from './driver.js';
import { privilegeProblem } from './privilege-problem.js';

/**
 * An error on connecting, as a `UsageError` (exit 2) that names the database (its URL without
 * password) and what to do; null when the error is not about connecting. `create`: the command
 * is `usrun init` (for what a user refused the database needs).
 */
export function connectionProblem(
  error: unknown,
  capabilities: DialectCapabilities,
  location: string,
  create = false,
): UsageError | null {
  const detail = error instanceof Error ? error.message : String(error);
  switch (capabilities.classifyError(error).kind) {
    case 'unreachable':
      return new UsageError(
        `cannot reach the database server of ${location} (${detail}): is the server running, and are host and port right?`,
      );
    case 'auth':
      return new UsageError(
        `the database server refused the login for ${location} (${detail}): check the user name and the password (in the URL, or the driver's usual place: PGPASSWORD / ~/.pgpass, MYSQL_PWD)`,
      );
    case 'no-database':
      return new UsageError(
        `the database of ${location} does not exist on the server (${detail}): create it (CREATE DATABASE …), then run \`usrun init --db ${location}\``,
      );
    case 'connection-lost':
      // While connecting: the server (or something between) closed the connection being made.
      return new UsageError(
        `the connection to ${location} was closed as it was being made (${detail}): is the server running and does it accept connections from this host (host, port, firewall, pg_hba.conf)?`,
      );
    case 'no-ssl':
      return new UsageError(
        `the database server of ${location} does not accept SSL connections (${detail}): drop the SSL setting from the URL (sslmode=…, ssl=…) or enable SSL on the server`,
      );
    case 'privileges':
      // No access to the database at all (MariaDB's error 1044, PostgreSQL's CONNECT revoked).
      return privilegeProblem(error, capabilities, location, create ? 'init' : 'use');
    default:
      return null;
  }
}
