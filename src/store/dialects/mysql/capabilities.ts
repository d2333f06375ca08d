import type { DialectCapabilities } from '../../driver.js';
import { PROFILE_VERSION, USER_VERSION, type VersionedTable } from '../../versioned-tables.js';
import { classifyMysqlError } from './classify-error.js';
import { mysqlDdlProbe } from './ddl-probe.js';

/**
 * MySQL and MariaDB forbid a trigger to update its own table, so `parent` bumps its version in
 * a BEFORE UPDATE trigger; the child tables' AFTER triggers update `parent`, which passes that
 * trigger unchanged (the version moved). Cascaded deletes fire no triggers in InnoDB; the parent
 * row is gone.
 */
function versionTriggers({ parent, key, children, foreignKey }: VersionedTable) {
  return [
    `CREATE TRIGGER ${parent}_version_bump BEFORE UPDATE ON ${parent} FOR EACH ROW
   SET NEW.version = IF(NEW.version = OLD.version, OLD.version + 1, NEW.version)`,
    ...children.flatMap((t) => [
      `CREATE TRIGGER ${t}_version_ins AFTER INSERT ON ${t} FOR EACH ROW
     UPDATE ${parent} SET version = version + 1 WHERE ${key} = NEW.${foreignKey}`,
      `CREATE TRIGGER ${t}_version_upd AFTER UPDATE ON ${t} FOR EACH ROW
     UPDATE ${parent} SET version = version + 1 WHERE ${key} IN (OLD.${foreignKey}, NEW.${foreignKey})`,
      `CREATE TRIGGER ${t}_version_del AFTER DELETE ON ${t} FOR EACH ROW
     UPDATE ${parent} SET version = version + 1 WHERE ${key} = OLD.${foreignKey}`,
    ]),
  ];
}

/**
 * MariaDB 10.11 cannot index an expression. Case-insensitive lookups of these columns go through
 * an invisible generated column `<column>_lower` with an index of its own (SELECT * leaves it out).
 */
const FOLDED_COLUMNS = new Set(['users.username', 'users.email', 'users.external_id']);

const TABLE_SUFFIX = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export const mysqlCapabilities: DialectCapabilities = {
  booleansAsIntegers: true,
  jsonScalar: (col) => `JSON_UNQUOTE(${col})`,
  castNumber: (col) => `CAST(${col} AS DOUBLE)`,
  clusteredTableSuffix: '',
  beginWriteSql: 'BEGIN',
  userVersionTriggers: versionTriggers(USER_VERSION),
  profileVersionTriggers: versionTriggers(PROFILE_VERSION),
  // Writers on their own connections commit groups in parallel, as on PostgreSQL: sessions are
  // READ COMMITTED (no gap locks, open-mysql.ts), and a group takes the `runs` row first (see
  // commitItems). A deadlock that remains rolls back the whole group, which is applied again.
  dropNotNullSql: (table, column, type) => `ALTER TABLE ${table} MODIFY ${column} ${type} NULL`,
  skipLockedSql: 'FOR UPDATE SKIP LOCKED',
  maxWriters: 8,
  booleanLiteral: (value) => (value ? '1' : '0'),
  // %f has microseconds: cut to milliseconds, the form timestamps are stored in.
  nowIsoText: `CONCAT(LEFT(DATE_FORMAT(UTC_TIMESTAMP(3), '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z')`,
  initDatabaseSql: [],
  classifyError: classifyMysqlError,
  initPrivileges:
    'CREATE, ALTER, INDEX, TRIGGER and DROP on the database (DROP for the scratch table it first tries them on; ' +
    'MySQL 8 also REFERENCES; with binary logging on, SUPER or log_bin_trust_function_creators), ' +
    'e.g. GRANT CREATE, ALTER, INDEX, TRIGGER, DROP, REFERENCES, SELECT, INSERT, UPDATE, DELETE ON radius.* TO …',
  ddlProbeSql: (table) => mysqlDdlProbe(table, TABLE_SUFFIX),
  identity: (column) => column.autoIncrement(),
  // A binary collation: `=` and UNIQUE are case-sensitive and accent-sensitive, as on SQLite and
  // PostgreSQL; case-insensitive matching is lower() on both sides, as everywhere.
  tableSuffix: TABLE_SUFFIX,
  lowerColumn: (table, column) =>
    FOLDED_COLUMNS.has(`${table}.${column}`)
      ? `"${table}"."${column}_lower"`
      : `lower("${table}"."${column}")`,
  lowerIndexSql: (table, column, indexName) => {
    if (!FOLDED_COLUMNS.has(`${table}.${column}`))
      throw new TypeError(`no folded column for ${table}.${column}`);
    return [
      `ALTER TABLE ${table} ADD COLUMN ${column}_lower varchar(255) AS (lower(${column})) VIRTUAL INVISIBLE`,
      `CREATE INDEX ${indexName} ON ${table} (${column}_lower)`,
    ];
  },
  foldText: (text) => text.toLowerCase(),
  // MySQL reads a backslash in a string literal as an escape: two of them make one.
  likeEscapeSql: "escape '\\\\'",
  insertReturnsId: false,
  advanceIdentitySql: () => null,
  // Error 1442: a statement may not read `users` while its trigger updates it.
  captureId: (name, subquery) => ({ set: `SET @${name} = ${subquery}`, ref: `@${name}` }),
};
