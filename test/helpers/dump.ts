import Database from 'better-sqlite3';

const DATA_TABLES = [
  'users',
  'profiles',
  'user_profiles',
  'reply_attributes',
  'check_attributes',
  'profile_reply_attributes',
  'profile_check_attributes',
  'user_attrs',
  'filters',
  'scripts',
];
const JOURNAL_TABLES = ['runs', 'run_items', 'run_changes'];

/**
 * Every row of every table, in primary-key order, as JSON text: two dumps are equal exactly
 * when the tables hold the same data.
 */
export function dumpDb(path: string, options: { journal?: boolean } = {}): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = options.journal === false ? DATA_TABLES : [...DATA_TABLES, ...JOURNAL_TABLES];
    const dump: Record<string, unknown[]> = {};
    for (const table of tables) {
      const rows = db.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3`).all() as Record<string, unknown>[];
      // users.version and profiles.version are concurrency counters that every write moves (an undo too), not data.
      for (const row of rows) delete row['version'];
      dump[table] = rows;
    }
    return dump;
  } finally {
    db.close();
  }
}

/** Runs one query on a database file (for test setup and assertions). */
export function sqlite<T = Record<string, unknown>>(path: string, sql: string, params: unknown[] = []): T[] {
  const db = new Database(path, { fileMustExist: true });
  try {
    const statement = db.prepare(sql);
    if (statement.reader) return statement.all(...params) as T[];
    statement.run(...params);
    return [];
  } finally {
    db.close();
  }
}
