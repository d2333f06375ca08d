import type { DialectCapabilities } from '../../driver.js';
import { classifyPostgresError } from './classify-error.js';

const CHILD_TABLES = ['user_profiles', 'reply_attributes', 'check_attributes', 'user_attrs'];

/**
 * PostgreSQL keeps `users.version` with a BEFORE UPDATE trigger on users (a write that does not
 * move the version itself bumps it) and one plpgsql function behind AFTER triggers on the child
 * tables. The child triggers' UPDATE passes the users trigger unchanged: it moves the version.
 */
const userVersionTriggers = [
  `CREATE FUNCTION usrun_users_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF NEW.version = OLD.version THEN NEW.version := OLD.version + 1; END IF;
     RETURN NEW;
   END $$`,
  `CREATE TRIGGER users_version_bump BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION usrun_users_version_bump()`,
  `CREATE FUNCTION usrun_child_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP IN ('UPDATE', 'DELETE') THEN UPDATE users SET version = version + 1 WHERE obj_id = OLD.user_id; END IF;
     IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id) THEN
       UPDATE users SET version = version + 1 WHERE obj_id = NEW.user_id;
     END IF;
     RETURN NULL;
   END $$`,
  ...CHILD_TABLES.map(
    (t) =>
      `CREATE TRIGGER ${t}_version AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION usrun_child_version_bump()`,
  ),
];

export const postgresCapabilities: DialectCapabilities = {
  booleansAsIntegers: false,
  jsonScalar: (col) => `(${col}::jsonb #>> '{}')`,
  castNumber: (col) => `CAST(${col} AS double precision)`,
  clusteredTableSuffix: '',
  beginWriteSql: 'BEGIN',
  userVersionTriggers,
  // Row locks: writers on their own connections commit in parallel (the pool has room for them).
  dropNotNullSql: (table, column) => `ALTER TABLE ${table} ALTER COLUMN ${column} DROP NOT NULL`,
  skipLockedSql: 'FOR UPDATE SKIP LOCKED',
  maxWriters: 8,
  booleanLiteral: (value) => (value ? 'TRUE' : 'FALSE'),
  nowIsoText: `to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  classifyError: classifyPostgresError,
  identity: (column) => column.generatedByDefaultAsIdentity(),
  tableSuffix: '',
  lowerColumn: (table, column) => `lower("${table}"."${column}")`,
  lowerIndexSql: (table, column, indexName) => [`CREATE INDEX ${indexName} ON ${table} (lower(${column}))`],
  foldText: (text) => text.toLowerCase(),
  likeEscapeSql: "escape '\\'",
  insertReturnsId: true,
  advanceIdentitySql: (table, column) =>
    `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), COALESCE((SELECT MAX(${column}) FROM ${table}), 0) + 1, false)`,
};
