import { type CreateTableBuilder, type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import { InternalError } from '../errors.js';
import type { DialectCapabilities } from './driver.js';

/**
 * `0004_radius`: what FreeRADIUS's rlm_sql reads and writes, on top of usrun's own tables.
 *
 * - Profile-level attributes: `profile_reply_attributes` / `profile_check_attributes`.
 * - Views named and shaped as rlm_sql's default queries expect: `radcheck`, `radreply`,
 *   `radusergroup`, `radgroupcheck`, `radgroupreply` (groupname = profile short_name).
 * - Real tables rlm_sql writes to: `radpostauth` (without it the post-auth `sql` call fails and
 *   every user is rejected) and `radacct`.
 *
 * A user who is inactive, or whose `expiration` has passed, must not authenticate: `radcheck`
 * shows only one row for them, `Auth-Type := Reject`, which FreeRADIUS puts in the control list
 * and honours; their own check rows (the password among them), reply rows and group
 * memberships are hidden, so no group can grant them anything either.
 */
export function radiusMigration(capabilities: DialectCapabilities | null): Migration {
  return {
    async up(db: Kysely<any>) {
      // Null only when the migrations are built for their names, never to run.
      if (!capabilities) throw new InternalError('0004_radius needs the dialect capabilities');
      const identity = capabilities.identity;
      const suffix = capabilities.tableSuffix;
      const ending = <T extends CreateTableBuilder<any, any>>(table: T): T =>
        (suffix ? table.modifyEnd(sql.raw(suffix)) : table) as T;
      for (const table of ['profile_reply_attributes', 'profile_check_attributes']) {
        await ending(
          db.schema
            .createTable(table)
            .addColumn('id', 'integer', (c) => identity(c.primaryKey()))
            .addColumn('profile_id', 'integer', (c) =>
              c.notNull().references('profiles.id').onDelete('cascade'),
            )
            .addColumn('attr', 'varchar(64)', (c) => c.notNull())
            .addColumn('op', 'varchar(2)', (c) => c.notNull())
            .addColumn('value', 'varchar(253)', (c) => c.notNull()),
        ).execute();
        await db.schema.createIndex(`${table}_profile_idx`).on(table).columns(['profile_id', 'id']).execute();
      }

      for (const statement of radiusViewsSql(capabilities)) await sql.raw(statement).execute(db);

      await ending(
        db.schema
          .createTable('radpostauth')
          .addColumn('id', 'integer', (c) => identity(c.primaryKey()))
          .addColumn('username', 'varchar(64)', (c) => c.notNull().defaultTo(''))
          .addColumn('pass', 'varchar(64)', (c) => c.notNull().defaultTo(''))
          .addColumn('reply', 'varchar(32)', (c) => c.notNull().defaultTo(''))
          .addColumn('authdate', 'timestamp', (c) => c.notNull())
          .addColumn('class', 'varchar(64)'),
      ).execute();
      await db.schema.createIndex('radpostauth_username_idx').on('radpostauth').column('username').execute();

      // FreeRADIUS's own radacct (mods-config/sql/main/*/schema.sql), in portable types.
      let acct = db.schema
        .createTable('radacct')
        .addColumn('radacctid', 'integer', (c) => identity(c.primaryKey()));
      const text: [string, number, boolean][] = [
        ['acctsessionid', 64, true],
        ['acctuniqueid', 32, true],
        ['username', 64, true],
        ['realm', 64, false],
        ['nasipaddress', 15, true],
        ['nasportid', 32, false],
        ['nasporttype', 32, false],
      ];
      for (const [name, size, notNull] of text)
        acct = acct.addColumn(name, `varchar(${size})`, (c) => (notNull ? c.notNull().defaultTo('') : c));
      for (const name of ['acctstarttime', 'acctupdatetime', 'acctstoptime'])
        acct = acct.addColumn(name, 'timestamp');
      acct = acct
        .addColumn('acctinterval', 'integer')
        .addColumn('acctsessiontime', 'integer')
        .addColumn('acctauthentic', 'varchar(32)')
        .addColumn('connectinfo_start', 'varchar(128)')
        .addColumn('connectinfo_stop', 'varchar(128)')
        .addColumn('acctinputoctets', 'bigint')
        .addColumn('acctoutputoctets', 'bigint');
      const more: [string, number, boolean][] = [
        ['calledstationid', 50, true],
        ['callingstationid', 50, true],
        ['acctterminatecause', 32, true],
        ['servicetype', 32, false],
        ['framedprotocol', 32, false],
        ['framedipaddress', 15, true],
        ['framedipv6address', 45, true],
        ['framedipv6prefix', 45, true],
        ['framedinterfaceid', 44, true],
        ['delegatedipv6prefix', 45, true],
        ['class', 64, false],
      ];
      for (const [name, size, notNull] of more)
        acct = acct.addColumn(name, `varchar(${size})`, (c) => (notNull ? c.notNull().defaultTo('') : c));
      await ending(acct).execute();
      await db.schema
        .createIndex('radacct_acctuniqueid_idx')
        .unique()
        .on('radacct')
        .column('acctuniqueid')
        .execute();
      for (const column of ['username', 'acctsessionid', 'acctstarttime', 'acctstoptime', 'nasipaddress'])
        await db.schema.createIndex(`radacct_${column}_idx`).on('radacct').column(column).execute();
    },
  };
}

/**
 * The CREATE VIEW statements, as fixed SQL text (no input reaches it); what differs between
 * dialects comes from `capabilities`. rlm_sql selects `id, username, attribute, value, op` and
 * orders by `id` itself; operators are shown exactly as stored.
 */
export function radiusViewsSql(capabilities: DialectCapabilities): string[] {
  const yes = capabilities.booleanLiteral(true);
  const now = capabilities.nowIsoText;
  const live = `u.is_active = ${yes} AND (u.expiration IS NULL OR u.expiration > ${now})`;
  const userRows = (table: string) =>
    `SELECT a.id AS id, u.username AS username, a.attr AS attribute, a.op AS op, a.value AS value
     FROM ${table} a JOIN users u ON u.obj_id = a.user_id WHERE ${live}`;
  const groupRows = (table: string) =>
    `SELECT a.id AS id, p.short_name AS groupname, a.attr AS attribute, a.op AS op, a.value AS value
     FROM ${table} a JOIN profiles p ON p.id = a.profile_id`;
  return [
    // Negative ids never meet a real row's id, and sort first.
    `CREATE VIEW radcheck AS ${userRows('check_attributes')}
     UNION ALL
     SELECT 0 - u.obj_id AS id, u.username AS username, 'Auth-Type' AS attribute, ':=' AS op,
            'Reject' AS value
     FROM users u WHERE NOT (${live})`,
    `CREATE VIEW radreply AS ${userRows('reply_attributes')}`,
    `CREATE VIEW radusergroup AS
     SELECT u.username AS username, p.short_name AS groupname, up.priority AS priority
     FROM user_profiles up JOIN users u ON u.obj_id = up.user_id JOIN profiles p ON p.id = up.profile_id
     WHERE ${live}`,
    `CREATE VIEW radgroupcheck AS ${groupRows('profile_check_attributes')}`,
    `CREATE VIEW radgroupreply AS ${groupRows('profile_reply_attributes')}`,
  ];
}
