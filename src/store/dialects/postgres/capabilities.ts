import type { DialectCapabilities } from '../../driver.js';
import { PROFILE_VERSION, USER_VERSION, type VersionedTable } from '../../versioned-tables.js';
import { classifyPostgresError } from './classify-error.js';

/**
 * PostgreSQL keeps `parent.version` with a BEFORE UPDATE trigger on `parent` (a write that does
 * not move the version itself bumps it) and one plpgsql function (`childFunction`) behind AFTER
 * triggers on the child tables. The child triggers' UPDATE passes the parent's trigger
 * unchanged: it moves the version.
 */
function versionTriggers({ parent, key, children, foreignKey }: VersionedTable, childFunction: string) {
  return [
    `CREATE FUNCTION usrun_${parent}_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF NEW.version = OLD.version THEN NEW.version := OLD.version + 1; END IF;
     RETURN NEW;
   END $$`,
    `CREATE TRIGGER ${parent}_version_bump BEFORE UPDATE ON ${parent} FOR EACH ROW EXECUTE FUNCTION usrun_${parent}_version_bump()`,
    `CREATE FUNCTION ${childFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP IN ('UPDATE', 'DELETE') THEN UPDATE ${parent} SET version = version + 1 WHERE ${key} = OLD.${foreignKey}; END IF;
     IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.${foreignKey} <> OLD.${foreignKey}) THEN
       UPDATE ${parent} SET version = version + 1 WHERE ${key} = NEW.${foreignKey};
     END IF;
     RETURN NULL;
   END $$`,
    ...children.map(
      (t) =>
        `CREATE TRIGGER ${t}_version AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${childFunction}()`,
    ),
  ];
}

export const postgresCapabilities: DialectCapabilities = {
  booleansAsIntegers: false,
  jsonScalar: (col) => `(${col}::jsonb #>> '{}')`,
  castNumber: (col) => `CAST(${col} AS double precision)`,
  clusteredTableSuffix: '',
  beginWriteSql: 'BEGIN',
  userVersionTriggers: versionTriggers(USER_VERSION, 'usrun_child_version_bump'),
  profileVersionTriggers: versionTriggers(PROFILE_VERSION, 'usrun_profile_child_version_bump'),
  // Row locks: writers on their own connections commit in parallel (the pool has room for them).
  dropNotNullSql: (table, column) => `ALTER TABLE ${table} ALTER COLUMN ${column} DROP NOT NULL`,
  skipLockedSql: 'FOR UPDATE SKIP LOCKED',
  maxWriters: 8,
  booleanLiteral: (value) => (value ? 'TRUE' : 'FALSE'),
  nowIsoText: `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  initDatabaseSql: [],
  classifyError: classifyPostgresError,
  initPrivileges:
    'CREATE on the schema, for its tables, indexes, triggers and two plpgsql functions ' +
    '(GRANT CREATE ON SCHEMA public TO …, or a schema the user owns)',
  // A failed migration rolls back whole: nothing to try first.
  ddlProbeSql: null,
  identity: (column) => column.generatedByDefaultAsIdentity(),
  tableSuffix: '',
  lowerColumn: (table, column) => `lower("${table}"."${column}")`,
  lowerIndexSql: (table, column, indexName) => [`CREATE INDEX ${indexName} ON ${table} (lower(${column}))`],
  foldText: (text) => text.toLowerCase(),
  likeEscapeSql: "escape '\\'",
  insertReturnsId: true,
  advanceIdentitySql: (table, column) =>
    `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), COALESCE((SELECT MAX(${column}) FROM ${table}), 0) + 1, false)`,
  captureId: null,
};
