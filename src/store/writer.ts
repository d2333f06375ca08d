import type { Connection, DialectCapabilities, SqlStatement, SqlValue, StoreDriver } from './driver.js';

/** A unit's statement changed another number of rows than it expected (a row's version moved). */
export class StaleRowError extends Error {
  constructor(
    readonly statement: SqlStatement,
    readonly changed: number,
  ) {
    super(`expected ${statement.expectRows} changed row(s), got ${changed}`);
    this.name = 'StaleRowError';
  }
}

/**
 * The server rolled back the whole open group (an InnoDB deadlock): not one of its units is
 * written any more, and the writer has no transaction open. The group must be applied again.
 */
export class GroupLostError extends Error {
  constructor(override readonly cause: unknown) {
    super(
      `the database rolled back the whole transaction: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'GroupLostError';
  }
}

/**
 * Group commit on one lent connection. Many units (one per user) go into one transaction, each
 * inside its own SAVEPOINT: a unit that fails rolls back to its savepoint and leaves the rest of
 * the group intact. `commit()` makes every unit of the open group durable at once.
 *
 * A rehearsal (dry run) is the same writer whose group is never committed: it opens one
 * transaction for the whole run, `commit()` does nothing, and closing rolls everything back —
 * so a dry run takes the identical path, sees its own earlier units, and writes nothing.
 */
export interface Writer {
  /** True when this writer only rehearses. */
  readonly rehearsal: boolean;
  /** True while a group is open (units were applied and not yet committed). */
  readonly open: boolean;
  /** Reads on the writer's connection: they see the open group's units. */
  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /**
   * Applies the statements as one all-or-nothing unit, opening a group first when none is open.
   * On any error the unit is rolled back to its savepoint and the error rethrown; the group stays
   * usable. A statement whose `expectRows` is not met throws `StaleRowError`. When the server
   * rolled back the whole transaction instead, `GroupLostError`: nothing of the group is left.
   */
  unit(statements: readonly SqlStatement[]): Promise<void>;
  /** Commits the open group (a rehearsal keeps it open). No-op without an open group. */
  commit(): Promise<void>;
  /**
   * Rolls back the open group (a rehearsal's too), releasing its row locks now rather than when
   * the writer is given back. No-op without an open group.
   */
  rollback(): Promise<void>;
}

const SAVEPOINT = 'usrun_unit';

function createWriter(connection: Connection, capabilities: DialectCapabilities, rehearsal: boolean) {
  const beginSql = capabilities.beginWriteSql;
  let open = false;
  const begin = async () => {
    if (open) return;
    await connection.execute(beginSql);
    open = true;
  };
  const writer: Writer & { close(): Promise<void> } = {
    rehearsal,
    get open() {
      return open;
    },
    query: (sql, params) => connection.query(sql, params),
    async unit(statements) {
      await begin();
      await connection.execute(`SAVEPOINT ${SAVEPOINT}`);
      try {
        for (const s of statements) {
          const changed = await connection.execute(s.sql, s.params);
          if (s.expectRows !== undefined && changed !== s.expectRows) throw new StaleRowError(s, changed);
        }
      } catch (error) {
        const kind = capabilities.classifyError(error);
        if (kind.kind === 'busy' && kind.groupLost) {
          open = false;
          throw new GroupLostError(error);
        }
        await connection.execute(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
        await connection.execute(`RELEASE SAVEPOINT ${SAVEPOINT}`);
        throw error;
      }
      await connection.execute(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    },
    async commit() {
      if (!open || rehearsal) return;
      open = false;
      await connection.execute('COMMIT');
    },
    async rollback() {
      if (!open) return;
      open = false;
      await connection.execute('ROLLBACK');
    },
    close: () => writer.rollback(),
  };
  return writer;
}

/**
 * Lends a connection, makes a writer on it for `fn`, and always ends it: whatever `fn` left
 * uncommitted (an error, a rehearsal) is rolled back and the connection given back.
 */
export async function usingWriter<T>(
  store: StoreDriver,
  options: { rehearsal: boolean },
  fn: (writer: Writer) => Promise<T>,
): Promise<T> {
  return store.withConnection(async (connection) => {
    const writer = createWriter(connection, store.capabilities, options.rehearsal);
    // A rehearsal is one transaction from the start, so every read sees one snapshot plus its own units.
    if (options.rehearsal) await writer.unit([]);
    let result: T;
    try {
      result = await fn(writer);
    } catch (error) {
      // The first error is the one to report, not a failed rollback on a broken connection.
      await writer.close().catch(() => undefined);
      throw error;
    }
    await writer.close();
    return result;
  });
}

/**
 * Like `usingWriter`, with `count` writers on as many connections (at most the dialect's
 * `maxWriters`; a rehearsal is always one transaction, so one writer), for `--concurrency`.
 */
export async function usingWriters<T>(
  store: StoreDriver,
  options: { rehearsal: boolean; count: number },
  fn: (writers: Writer[]) => Promise<T>,
): Promise<T> {
  const count = options.rehearsal ? 1 : Math.max(1, Math.min(options.count, store.capabilities.maxWriters));
  const lend = (held: Writer[]): Promise<T> =>
    held.length === count
      ? fn(held)
      : usingWriter(store, { rehearsal: options.rehearsal }, (writer) => lend([...held, writer]));
  return lend([]);
}

/** Runs the statements in one transaction of their own: all of them, or none (the error is rethrown). */
export async function writeAll(store: StoreDriver, statements: readonly SqlStatement[]): Promise<void> {
  await usingWriter(store, { rehearsal: false }, async (writer) => {
    await writer.unit(statements);
    await writer.commit();
  });
}
