import type { DialectCapabilities } from '../../driver.js';
import { PROFILE_VERSION, USER_VERSION, type VersionedTable } from '../../versioned-tables.js';
import { classifySqliteError } from './classify-error.js';

/**
 * Triggers keeping `version` of `parent` (key `key`): moved by any write to its row, and to the
 * rows of `children` that name it in `foreignKey`. Recursive triggers are off, so one level only.
 */
function versionTriggers({ parent, key, children, foreignKey }: VersionedTable) {
  const bump = (where: string) =>
    `BEGIN UPDATE ${parent} SET version = version + 1 WHERE ${key} ${where}; END`;
  return [
    `CREATE TRIGGER ${parent}_version_bump AFTER UPDATE ON ${parent} FOR EACH ROW WHEN NEW.version = OLD.version
   BEGIN UPDATE ${parent} SET version = OLD.version + 1 WHERE ${key} = NEW.${key}; END`,
    ...children.flatMap((t) => [
      `CREATE TRIGGER ${t}_version_ins AFTER INSERT ON ${t} FOR EACH ROW
     ${bump(`= NEW.${foreignKey}`)}`,
      `CREATE TRIGGER ${t}_version_upd AFTER UPDATE ON ${t} FOR EACH ROW
     ${bump(`IN (OLD.${foreignKey}, NEW.${foreignKey})`)}`,
      `CREATE TRIGGER ${t}_version_del AFTER DELETE ON ${t} FOR EACH ROW
     ${bump(`= OLD.${foreignKey}`)}`,
    ]),
  ];
}

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
  userVersionTriggers: versionTriggers(USER_VERSION),
  profileVersionTriggers: versionTriggers(PROFILE_VERSION),
  // SQLite has no ALTER COLUMN: migrations rebuild the table.
  dropNotNullSql: null,
  // One writer: a second connection's transaction would only wait for the first one's lock.
  skipLockedSql: null,
  maxWriters: 1,
  booleanLiteral: (value) => (value ? '1' : '0'),
  nowIsoText: `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  // WAL lets readers (FreeRADIUS, `users list`) go on while a run writes.
  initDatabaseSql: ['PRAGMA journal_mode = WAL'],
  classifyError: classifySqliteError,
  initPrivileges: 'the right to write the file and its folder',
  // A failed migration rolls back whole: nothing to try first.
  ddlProbeSql: null,
  identity: (column) => column.autoIncrement(),
  tableSuffix: '',
  lowerColumn: (table, column) => `lower("${table}"."${column}")`,
  lowerIndexSql: (table, column, indexName) => [`CREATE INDEX ${indexName} ON ${table} (lower(${column}))`],
  foldText: asciiLower,
  likeEscapeSql: "escape '\\'",
  insertReturnsId: false,
  advanceIdentitySql: () => null,
  captureId: null,
};
