import { freeradiusSqlConfig } from '../../store/freeradius-sql-config.js';
import { resolveLocation, usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';

/**
 * `usrun radius config`: prints the FreeRADIUS `sql` module for the current database. A SQLite
 * file must be a current usrun database (the views come with `usrun init`); a server URL is
 * printed as given, without its password.
 */
export async function radiusConfigCommand(options: { db?: string }, io: Io): Promise<void> {
  const location = resolveLocation(options.db);
  if (!/^[a-z]+:\/\//.test(location)) await usingStore({ location }, async () => undefined);
  io.out(freeradiusSqlConfig(location));
}
