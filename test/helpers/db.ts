import type { SqlValue, StoreDriver } from '../../src/store/driver.js';
import { openStore } from '../../src/store/using-store.js';

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
const ALL_TABLES = [...DATA_TABLES, ...JOURNAL_TABLES];

/** Tables with a generated id, and that column. */
const IDENTITY: Record<string, string> = {
  users: 'obj_id',
  profiles: 'id',
  reply_attributes: 'id',
  check_attributes: 'id',
  profile_reply_attributes: 'id',
  profile_check_attributes: 'id',
  runs: 'id',
};

/**
 * A shared run's chunks and workers (migration 0007): emptied with the rest, but left out of
 * dumps and snapshots — leases and last-seen times are when, not what.
 */
const WORK_TABLES = ['run_chunks', 'run_workers'];

const DELETE_ALL = [...WORK_TABLES, ...[...ALL_TABLES].reverse()].map((t) => `DELETE FROM ${t}`);

/**
 * Empties every table and resets the id generators: what differs per dialect. (DELETE, not
 * TRUNCATE: on tables this small it takes milliseconds where TRUNCATE takes a tenth of a second
 * per table. PostgreSQL's sequences are reset after the inserts, by advanceIdentitySql.)
 */
const CLEAR_SQL: Record<StoreDriver['dialect'], readonly string[]> = {
  sqlite: [...DELETE_ALL, 'DELETE FROM sqlite_sequence'],
  postgres: DELETE_ALL,
  // Row by row, InnoDB would refuse to delete a run that a later undo run still refers to.
  mysql: ['SET FOREIGN_KEY_CHECKS = 0', ...DELETE_ALL, 'SET FOREIGN_KEY_CHECKS = 1'],
};

/** MySQL: the tables whose AUTO_INCREMENT moved (resetting one takes an ALTER TABLE, ~70 ms). */
const MOVED_AUTO_INCREMENT = `SELECT TABLE_NAME AS t FROM information_schema.TABLES
  WHERE TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT > 1 AND TABLE_NAME IN (${Object.keys(IDENTITY)
    .map((t) => `'${t}'`)
    .join(', ')})`;

type Row = Record<string, unknown>;

const cache = new Map<string, Promise<StoreDriver>>();

/**
 * The test's own connection to a database, through usrun's StoreDriver. Server connections are
 * kept for the file (closed by `dropTestDbs`); a SQLite file is opened per call, as any other
 * process would, so nothing stays open on it.
 */
export async function withDb<T>(location: string, fn: (store: StoreDriver) => Promise<T>): Promise<T> {
  if (!/^[a-z]+:\/\//.test(location)) {
    const store = await openStore({ location });
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }
  let store = cache.get(location);
  if (!store) {
    store = openStore({ location });
    cache.set(location, store);
  }
  return fn(await store);
}

export async function closeCachedStores(): Promise<void> {
  const stores = [...cache.values()];
  cache.clear();
  for (const store of stores) await (await store).close();
}

/** Booleans as 0/1 (PostgreSQL has real ones), so rows read alike on every dialect. */
function normalize(row: Row): Row {
  for (const [key, value] of Object.entries(row)) if (typeof value === 'boolean') row[key] = value ? 1 : 0;
  return row;
}

/**
 * Runs one statement (for test setup and assertions): the rows of a query (booleans as 0/1), or
 * `[]` for a write. `?` placeholders, as everywhere in usrun.
 */
export async function dbQuery<T = Row>(
  location: string,
  sql: string,
  params: readonly SqlValue[] = [],
): Promise<T[]> {
  return withDb(location, async (store) => {
    if (/^\s*(select|with|pragma)\b/i.test(sql))
      return (await store.query<Row>(sql, params)).map(normalize) as T[];
    await store.withConnection((c) => c.execute(sql, params));
    return [];
  });
}

/** After rows were inserted with explicit ids: move the table's id generator past them. */
export async function advanceIdentity(location: string, table: string): Promise<void> {
  await withDb(location, async (store) => {
    const column = IDENTITY[table];
    const advance = column ? store.capabilities.advanceIdentitySql(table, column) : null;
    if (advance) await store.query(advance);
  });
}

async function readTables(store: StoreDriver, tables: readonly string[]): Promise<Record<string, Row[]>> {
  const dump: Record<string, Row[]> = {};
  for (const table of tables) {
    const rows = (await store.query<Row>(`SELECT * FROM ${table} ORDER BY 1, 2, 3`)).map(normalize);
    // users.version and profiles.version are concurrency counters that every write moves (an undo too), not data.
    for (const row of rows) delete row['version'];
    dump[table] = rows;
  }
  return dump;
}

/**
 * Every row of every table, in primary-key order (booleans as 0/1, without `users.version`): two
 * dumps are equal exactly when the tables hold the same data.
 */
export function dumpDb(
  location: string,
  options: { journal?: boolean } = {},
): Promise<Record<string, unknown[]>> {
  return withDb(location, (store) => readTables(store, options.journal === false ? DATA_TABLES : ALL_TABLES));
}

/**
 * The data tables (no journal) as a run leaves them, whatever order its users were committed in
 * (lanes, several workers): without the attr timestamps a run sets to "now" and the ids new
 * reply rows got, which follow commit order.
 */
export async function dataInAnyCommitOrder(location: string): Promise<Record<string, Row[]>> {
  const dump = (await dumpDb(location, { journal: false })) as Record<string, Row[]>;
  dump['user_attrs'] = (dump['user_attrs'] ?? []).map((a) => ({ ...a, created_at: '*', updated_at: '*' }));
  dump['reply_attributes'] = (dump['reply_attributes'] ?? [])
    .map((a) => ({ ...a, id: '*' }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return dump;
}

/** The single number a `SELECT COUNT(*) AS n …` returns. */
export async function dbCount(
  location: string,
  sql: string,
  params: readonly SqlValue[] = [],
): Promise<number> {
  return Number((await dbQuery<{ n: number }>(location, sql, params))[0]?.n ?? 0);
}

/** Every table's rows, to put back later with `restoreDb`. */
export type Snapshot = Record<string, Row[]>;

export function snapshotDb(location: string): Promise<Snapshot> {
  return withDb(location, (store) => readTables(store, ALL_TABLES));
}

/**
 * Puts a database back to a snapshot: every table emptied, its rows inserted again and the id
 * generators reset past them — what copying a SQLite file does, on any dialect.
 */
export async function restoreDb(location: string, snapshot: Snapshot): Promise<void> {
  await withDb(location, async (store) => {
    await store.withConnection(async (c) => {
      for (const statement of CLEAR_SQL[store.dialect]) await c.execute(statement);
      if (store.dialect === 'mysql') {
        for (const { t } of await c.query<{ t: string }>(MOVED_AUTO_INCREMENT)) {
          await c.execute(`ALTER TABLE ${t} AUTO_INCREMENT = 1`);
        }
      }
      for (const table of ALL_TABLES) {
        const rows = snapshot[table] ?? [];
        for (let i = 0; i < rows.length; i += 200) {
          const group = rows.slice(i, i + 200);
          const columns = Object.keys(group[0]!);
          const tuple = `(${columns.map(() => '?').join(', ')})`;
          await c.execute(
            `INSERT INTO ${table} (${columns.map((col) => `"${col}"`).join(', ')}) VALUES ${group.map(() => tuple).join(', ')}`,
            group.flatMap((row) => columns.map((col) => row[col] as SqlValue)),
          );
        }
      }
    });
    for (const [table, column] of Object.entries(IDENTITY)) {
      const advance = store.capabilities.advanceIdentitySql(table, column);
      if (advance) await store.query(advance);
    }
  });
}
