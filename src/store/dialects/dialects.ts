import { UsageError } from '../../errors.js';
import type { OpenOptions, StoreDriver } from '../driver.js';
import { redactUrl } from './server-location.js';

/** One supported database: how its locations look, and how to open one. */
export interface DialectEntry {
  readonly name: StoreDriver['dialect'];
  /** True when `location` names a database of this dialect. */
  matches(location: string): boolean;
  /** Opens it; the driver package is imported only now, so other commands never load it. */
  open(location: string, options: OpenOptions): Promise<StoreDriver>;
}

/** Every dialect, servers first: SQLite takes any location that is not a server URL. */
export const DIALECTS: readonly DialectEntry[] = [
  {
    name: 'postgres',
    matches: (location) => /^postgres(ql)?:\/\//i.test(location),
    open: async (location, options) =>
      (await import('./postgres/open-postgres.js')).openPostgres(location, options),
  },
  {
    name: 'mysql',
    matches: (location) => /^(mysql|mariadb):\/\//i.test(location),
    open: async (location, options) => (await import('./mysql/open-mysql.js')).openMysql(location, options),
  },
  {
    name: 'sqlite',
    matches: () => true,
    open: async (location, options) =>
      (await import('./sqlite/open-sqlite.js')).openSqlite(location, options),
  },
];

/**
 * The dialect of a location (a server URL, else a SQLite path). A URL of a scheme usrun does not
 * know (`mysqlx://`, `pgsql://`) is a UsageError, not a SQLite file of that name.
 */
export function dialectOf(location: string): DialectEntry {
  const dialect = DIALECTS.find((d) => d.matches(location))!;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1];
  if (dialect.name === 'sqlite' && scheme !== undefined) {
    throw new UsageError(
      `usrun does not know database URLs of the kind ${scheme}:// (${redactUrl(location)}): give ` +
        'postgres:// (or postgresql://), mysql:// (or mariadb://), or the path of a SQLite file',
    );
  }
  return dialect;
}
