import { Migrator } from 'kysely/migration';
import { UsageError } from '../errors.js';
import { probeDdl } from './ddl-probe.js';
import { dialectOf } from './dialects/dialects.js';
import type { StoreDriver } from './driver.js';
import { migrationNames, migrationProvider } from './migrations.js';
import { privilegeProblem } from './privilege-problem.js';

/** Where the directory lives and whether opening it may create it. */
export interface StoreConfig {
  /**
   * A SQLite path, or a `postgres://` / `postgresql://` / `mysql://` / `mariadb://` URL
   * (default `./usrun.db`, or env `USRUN_DB`).
   */
  location?: string | undefined;
  /** Only `usrun init` creates or migrates; every other command needs a current database. */
  create?: boolean;
  /**
   * With `create`: also add usrun's tables to a non-empty database that is not usrun's (one
   * without usrun's migration table). Without it such a database is refused.
   */
  allowForeign?: boolean;
  /** The command only reads (see `OpenOptions.readOnly`). */
  readOnly?: boolean;
}

export function resolveLocation(location: string | undefined): string {
  return location ?? process.env['USRUN_DB'] ?? './usrun.db';
}

/** Opens the database a location names, through its dialect's driver (loaded only now). */
export function openStore(config: StoreConfig): Promise<StoreDriver> {
  const location = resolveLocation(config.location);
  return dialectOf(location).open(location, {
    create: config.create ?? false,
    readOnly: config.readOnly ?? false,
  });
}

/**
 * Applies every pending migration. Returns the names applied now. Where DDL is not
 * transactional, first tries what the migrations need (`probeDdl`), so a user lacking a
 * privilege is refused before anything is written rather than half-way through a migration.
 */
export async function migrateStore(store: StoreDriver): Promise<string[]> {
  const applied = new Set((await appliedMigrations(store)) ?? []);
  if (migrationNames.some((n) => !applied.has(n))) await probeDdl(store);
  for (const statement of store.capabilities.initDatabaseSql) await store.query(statement);
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.capabilities) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** The migrations a database has applied, or null when it has no migration table. */
async function appliedMigrations(store: StoreDriver): Promise<string[] | null> {
  try {
    const applied = await store.query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name');
    return applied.map((r) => r.name);
  } catch (error) {
    // A user who may not read it: a message about privileges, not a database taken for another's.
    if (store.capabilities.classifyError(error).kind === 'privileges') throw error;
    // No such table: a new database, or someone else's (`tablesOf` tells which).
    return null;
  }
}

/** Every table and view of the database (read only when it is not usrun's). */
async function tablesOf(store: StoreDriver): Promise<string[]> {
  const tables = await store.db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.map((t) => t.name);
}

/**
 * Checks that the database is usrun's and of a schema this usrun knows, before anything is
 * written: init refuses a non-empty database that is not usrun's (unless `allowForeign`) and a
 * database a newer usrun upgraded; every other command also refuses one that needs `init`.
 */
async function checkSchema(store: StoreDriver, config: StoreConfig): Promise<void> {
  const applied = await appliedMigrations(store);
  const known = new Set(migrationNames);
  const unknown = (applied ?? []).filter((n) => !known.has(n));
  const ours = applied !== null && (applied.length === 0 || unknown.length < applied.length);
  if (ours && unknown.length > 0) {
    throw new UsageError(
      `${store.location} was upgraded by a newer usrun (migration ${unknown.join(', ')}; this usrun ` +
        `knows up to ${migrationNames.at(-1)}): use that newer usrun, nothing was changed`,
    );
  }
  if (!ours) {
    const tables = await tablesOf(store);
    if (tables.length > 0) {
      const shown =
        tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length} in all)` : '');
      if (!config.create) {
        throw new UsageError(
          `${store.location} is not a usrun database (it holds other tables: ${shown}); ` +
            `give the database usrun init made with --db or $USRUN_DB`,
        );
      }
      if (!config.allowForeign) {
        throw new UsageError(
          `${store.location} is not empty and is not a usrun database (it holds other tables: ${shown}); ` +
            "nothing was written. Give a new or empty database, or add usrun's tables next to these " +
            `anyway with \`usrun init --db ${store.location} --allow-foreign\``,
        );
      }
    }
  }
  if (config.create) return;
  const names = new Set(applied ?? []);
  const missing = migrationNames.filter((n) => !names.has(n));
  if (missing.length > 0) {
    const what = names.size === 0 ? 'is not a usrun database yet' : 'needs an upgrade';
    throw new UsageError(`${store.location} ${what}: run \`usrun init --db ${store.location}\``);
  }
}

/**
 * Opens the store, runs `fn`, and always closes it. Without `create`, a missing or unmigrated
 * database is a `UsageError` (exit 2) and nothing is created.
 */
export async function usingStore<T>(config: StoreConfig, fn: (store: StoreDriver) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  let stage: 'init' | 'use' = 'use';
  try {
    await checkSchema(store, config);
    if (config.create) {
      stage = 'init';
      await migrateStore(store);
      stage = 'use';
    }
    return await fn(store);
  } catch (error) {
    // A write refused late (the file became read-only, a read-only replica): its transaction
    // rolled back, so this is a message and exit 2, not a crash.
    if (store.capabilities.classifyError(error).kind === 'read-only') {
      throw new UsageError(
        `cannot write to ${store.location}: the database is read-only (${(error as Error).message})`,
      );
    }
    // A statement the database user may not run: refused whole, so likewise. (A migration fails
    // whole too: rolled back, or refused by the probe before it began.)
    throw privilegeProblem(error, store.capabilities, store.location, stage) ?? error;
  } finally {
    await store.close();
  }
}
