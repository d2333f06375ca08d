import { type CreateTableBuilder, type Kysely, sql } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';

import type { DialectCapabilities } from './driver.js';
import { radiusMigration } from './radius-migration.js';

type Clustered = <T extends CreateTableBuilder<any, any>>(table: T) => T;

/**
 * The schema's history, in code so a single `dist/` carries it. Never edit a shipped migration:
 * add the next one. Names sort in order of application. `clustered` marks tables stored in
 * their primary key's order where the dialect can (capabilities.clusteredTableSuffix).
 */
const buildMigrations = (
  clustered: Clustered,
  capabilities: DialectCapabilities | null,
): Record<string, Migration> => ({
  '0001_directory': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('users')
        .addColumn('obj_id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('username', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('username_length', 'integer')
        .addColumn('first_name', 'varchar(255)')
        .addColumn('last_name', 'varchar(255)')
        .addColumn('email', 'varchar(255)')
        .addColumn('external_id', 'varchar(255)')
        .addColumn('klass', 'varchar(255)')
        .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
        .addColumn('date_joined', 'varchar(32)')
        .addColumn('first_login', 'varchar(32)')
        .addColumn('last_login', 'varchar(32)')
        .addColumn('expiration', 'varchar(32)')
        .addColumn('last_update', 'varchar(32)')
        .addColumn('organization_id', 'integer')
        .addColumn('avatar_url', 'varchar(1024)')
        .addColumn('description', 'text')
        .addCheckConstraint('users_username_not_empty', sql`length(username) > 0`)
        .execute();
      // Filters and CSV matching compare text case-insensitively: index lower(...).
      for (const column of ['username', 'email', 'external_id'] as const) {
        await db.schema
          .createIndex(`users_lower_${column}_idx`)
          .on('users')
          .expression(sql`lower(${sql.ref(column)})`)
          .execute();
      }
      await db.schema.createIndex('users_last_login_idx').on('users').column('last_login').execute();

      await db.schema
        .createTable('profiles')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('short_name', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(255)')
        .addColumn('description', 'text')
        .execute();

      await clustered(
        db.schema
          .createTable('user_profiles')
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.obj_id').onDelete('cascade'))
          .addColumn('profile_id', 'integer', (c) =>
            c.notNull().references('profiles.id').onDelete('cascade'),
          )
          .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(1))
          .addPrimaryKeyConstraint('user_profiles_pk', ['user_id', 'profile_id']),
      ).execute();
      await db.schema
        .createIndex('user_profiles_profile_idx')
        .on('user_profiles')
        .column('profile_id')
        .execute();

      for (const table of ['reply_attributes', 'check_attributes']) {
        await db.schema
          .createTable(table)
          .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.obj_id').onDelete('cascade'))
          .addColumn('attr', 'varchar(64)', (c) => c.notNull())
          .addColumn('op', 'varchar(2)', (c) => c.notNull())
          .addColumn('value', 'varchar(253)', (c) => c.notNull())
          .execute();
        await db.schema.createIndex(`${table}_user_idx`).on(table).columns(['user_id', 'attr']).execute();
      }

      await clustered(
        db.schema
          .createTable('user_attrs')
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.obj_id').onDelete('cascade'))
          .addColumn('name', 'varchar(200)', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('is_encrypted', 'boolean', (c) => c.notNull().defaultTo(false))
          .addColumn('expires_at', 'varchar(32)')
          .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
          .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
          .addPrimaryKeyConstraint('user_attrs_pk', ['user_id', 'name']),
      ).execute();
      await db.schema
        .createIndex('user_attrs_name_idx')
        .on('user_attrs')
        .columns(['name', 'expires_at'])
        .execute();

      await db.schema
        .createTable('filters')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('expression', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
    },
  },
  '0002_journal': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('runs')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('script_path', 'text')
        .addColumn('script_text', 'text', (c) => c.notNull())
        .addColumn('script_sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('selection', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('os_user', 'varchar(255)', (c) => c.notNull())
        .addColumn('host', 'varchar(255)', (c) => c.notNull())
        .addColumn('pid', 'integer')
        .addColumn('started_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('finished_at', 'varchar(32)')
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('counts', 'text', (c) => c.notNull())
        .addColumn('undo_of', 'integer', (c) => c.references('runs.id'))
        .execute();

      await clustered(
        db.schema
          .createTable('run_items')
          .addColumn('run_id', 'integer', (c) => c.notNull().references('runs.id').onDelete('cascade'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('user_id', 'integer')
          .addColumn('username', 'varchar(64)')
          .addColumn('row_json', 'text')
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('logs', 'text')
          .addColumn('finished_at', 'varchar(32)', (c) => c.notNull())
          .addPrimaryKeyConstraint('run_items_pk', ['run_id', 'seq']),
      ).execute();

      // No foreign key to users: the journal must outlive a deleted user (undo, audit).
      await clustered(runChangesTable(db, 'run_changes', true)).execute();
    },
  },
  '0003_user_versions': {
    // A user's version moves on every write to its row or its profile, attribute and attr rows,
    // by triggers, so writes from other tools count too: a run commits a user only if the
    // version is still the one its script saw (src/run/commit-items.ts).
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('users')
        .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      for (const statement of capabilities?.userVersionTriggers ?? []) await sql.raw(statement).execute(db);
    },
  },
  '0004_radius': radiusMigration(capabilities),
  '0005_journal_profiles': {
    // Imports and `profiles attr` are journaled runs: a profile's item names its profile in
    // run_items.profile, and its run_changes rows have no user (user_id null).
    async up(db: Kysely<any>) {
      await db.schema.alterTable('run_items').addColumn('profile', 'varchar(64)').execute();
      const alter = capabilities?.dropNotNullSql;
      if (alter) {
        await sql.raw(alter('run_changes', 'user_id', 'integer')).execute(db);
        return;
      }
      // SQLite: the documented table rebuild (same columns, same key, user_id nullable).
      await clustered(runChangesTable(db, 'run_changes_0005', false)).execute();
      await sql`INSERT INTO run_changes_0005 SELECT run_id, seq, n, user_id, kind, target, before, after FROM run_changes`.execute(
        db,
      );
      await db.schema.dropTable('run_changes').execute();
      await db.schema.alterTable('run_changes_0005').renameTo('run_changes').execute();
    },
  },
});

/** `run_changes` as 0002 created it (`userIdRequired`) and as 0005 left it. */
function runChangesTable(db: Kysely<any>, name: string, userIdRequired: boolean) {
  return db.schema
    .createTable(name)
    .addColumn('run_id', 'integer', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('n', 'integer', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => (userIdRequired ? c.notNull() : c))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('target', 'varchar(255)', (c) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addPrimaryKeyConstraint('run_changes_pk', ['run_id', 'seq', 'n']);
}

/** Hands kysely's `Migrator` the migrations above, for a dialect. */
export function migrationProvider(capabilities: DialectCapabilities): MigrationProvider {
  const suffix = capabilities.clusteredTableSuffix;
  const clustered: Clustered = (table) => (suffix ? table.modifyEnd(sql.raw(suffix)) : table) as typeof table;
  return { getMigrations: () => Promise.resolve(buildMigrations(clustered, capabilities)) };
}

/** Names of all migrations, in order: a database is current when it has applied all of them. */
export const migrationNames = Object.keys(buildMigrations((t) => t, null)).sort();
