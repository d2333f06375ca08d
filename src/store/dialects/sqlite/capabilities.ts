import type { DbErrorKind, DialectCapabilities } from '../../driver.js';

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

function classifyError(error: unknown): DbErrorKind {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    const m = /constraint failed: (\w+)\.(\w+)/.exec(message);
    return { kind: 'unique', table: m?.[1], column: m?.[2] };
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) return { kind: 'busy' };
  if (typeof code === 'string' && code.startsWith('SQLITE_READONLY')) return { kind: 'read-only' };
  return { kind: 'other' };
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
  maxWriters: 1,
  classifyError,
  booleanLiteral: (value) => (value ? '1' : '0'),
  nowIsoText: `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
};
