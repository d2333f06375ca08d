import { Migrator } from 'kysely/migration';
import { UsageError } from '../errors.js';
import { openSqlite } from './dialects/sqlite/open-sqlite.js';
import type { StoreDriver } from './driver.js';
import { migrationNames, migrationProvider } from './migrations.js';

/** Where the directory lives and whether opening it may create it. */
export interface StoreConfig {
  /** A SQLite path (default `./usrun.db`, or env `USRUN_DB`). */
  location?: string | undefined;
  /** Only `usrun init` creates or migrates; every other command needs a current database. */
  create?: boolean;
}

export function resolveLocation(location: string | undefined): string {
  return location ?? process.env['USRUN_DB'] ?? './usrun.db';
}

export function openStore(config: StoreConfig): StoreDriver {
  const location = resolveLocation(config.location);
  if (/^(postgres|postgresql|mysql):\/\//.test(location)) {
    throw new UsageError(`${location.split(':')[0]} databases are not supported yet; use a SQLite path`);
  }
  return openSqlite(location, { create: config.create ?? false });
}

/** Applies every pending migration. Returns the names applied now. */
export async function migrateStore(store: StoreDriver): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.capabilities) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

async function assertMigrated(store: StoreDriver): Promise<void> {
  const applied = await store
    .query<{ name: string }>('SELECT name FROM kysely_migration ORDER BY name')
    .catch(() => []);
  const names = new Set(applied.map((r) => r.name));
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
  const store = openStore(config);
  try {
    if (config.create) await migrateStore(store);
    else await assertMigrated(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}
