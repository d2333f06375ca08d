import type { DialectCapabilities } from '../../driver.js';
import { classifySqliteError } from './classify-error.js';

const CHILD_TABLES = ['user_profiles', 'reply_attributes', 'check_attributes', 'user_attrs'];

/** SQLite's triggers keeping `users.version`: recursive triggers are off, so one level only. */
const userVersionTriggers = [
  `CREATE TRIGGER users_version_bump AFTER UPDATE ON users FOR EACH ROW WHEN NEW.version = OLD.version
   BEGIN UPDATE users SET version = OLD.version + 1 WHERE obj_id = NEW.obj_id; END`,
  ...CHILD_TABLES.flatMap((t) => [
    `CREATE TRIGGER ${t}_version_ins AFTER INSERT ON ${t} FOR EACH ROW
     BEGIN UPDATE users SET version = version + 1 WHERE obj_id = NEW.user_id; END`,
    `CREATE TRIGGER ${t}_version_upd AFTER UPDATE ON ${t} FOR EACH ROW
     BEGIN UPDATE users SET version = version + 1 WHERE obj_id IN (OLD.user_id, NEW.user_id); END`,
    `CREATE TRIGGER ${t}_version_del AFTER DELETE ON ${t} FOR EACH ROW
     BEGIN UPDATE users SET version = version + 1 WHERE obj_id = OLD.user_id; END`,
  ]),
];

/** SQLite's `lower()` folds ASCII letters only. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export const sqliteCapabilities: DialectCapabilities = {
  booleansAsIntegers: true,
  jsonScalar: (col) => `json_extract(${col}, '$')`,
  castNumber: (col) => `CAST(${col} AS REAL)`,
  clusteredTableSuffix: 'WITHOUT ROWID',
  // Take the write lock when the group starts: a deferred transaction that reads first could
  // find another writer ahead of it at its first write, and fail there instead of waiting.
  beginWriteSql: 'BEGIN IMMEDIATE',
  userVersionTriggers,
  // SQLite has no ALTER COLUMN: migrations rebuild the table.
  dropNotNullSql: null,
  // One writer: a second connection's transaction would only wait for the first one's lock.
  skipLockedSql: null,
  maxWriters: 1,
  booleanLiteral: (value) => (value ? '1' : '0'),
  nowIsoText: `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  classifyError: classifySqliteError,
  identity: (column) => column.autoIncrement(),
  tableSuffix: '',
  lowerColumn: (table, column) => `lower("${table}"."${column}")`,
  lowerIndexSql: (table, column, indexName) => [`CREATE INDEX ${indexName} ON ${table} (lower(${column}))`],
  foldText: asciiLower,
  likeEscapeSql: "escape '\\'",
  insertReturnsId: false,
  advanceIdentitySql: () => null,
};
