import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Database, UserRow } from '../store/database.js';
import type { StoreDriver } from '../store/driver.js';

/** A compiled filter, ready for `.where(...)` on the users table. */
export type UserWhere = (eb: ExpressionBuilder<Database, 'users'>) => Expression<SqlBool>;

export interface SelectUsersOptions {
  where?: UserWhere | undefined;
  /** Stop after this many users in all. */
  limit?: number | undefined;
  pageSize?: number;
  /** Start after this obj_id (resume). */
  afterId?: number;
  /** Stop at this obj_id (a chunk of a shared run). */
  untilId?: number;
}

/**
 * Users matching `where`, in obj_id order, read page by page with a keyset (`obj_id > last`),
 * so memory does not grow with the directory.
 */
export async function* selectUserPages(
  store: StoreDriver,
  options: SelectUsersOptions,
): AsyncGenerator<UserRow[]> {
  const pageSize = options.pageSize ?? 500;
  let after = options.afterId ?? 0;
  let left = options.limit ?? Number.POSITIVE_INFINITY;
  while (left > 0) {
    let query = store.db
      .selectFrom('users')
      .selectAll()
      .where('obj_id', '>', after)
      .orderBy('obj_id')
      .limit(Math.min(pageSize, left));
    if (options.where) query = query.where(options.where);
    if (options.untilId !== undefined) query = query.where('obj_id', '<=', options.untilId);
    const rows = await query.execute();
    if (rows.length === 0) return;
    yield rows;
    left -= rows.length;
    after = (rows[rows.length - 1] as UserRow).obj_id;
    if (rows.length < pageSize) return;
  }
}

/** How many users `where` selects (for the confirmation prompt and the progress bar). */
export async function countUsers(
  store: StoreDriver,
  where: UserWhere | undefined,
  limit?: number,
): Promise<number> {
  let query = store.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n'));
  if (where) query = query.where(where);
  const row = await query.executeTakeFirstOrThrow();
  const n = Number(row.n);
  return limit === undefined ? n : Math.min(n, limit);
}

/** The obj_ids `where` selects, in order, page by page (no user rows: what chunking needs). */
export async function* selectUserIds(
  store: StoreDriver,
  where: UserWhere | undefined,
  limit: number | undefined,
  pageSize = 5000,
): AsyncGenerator<number[]> {
  let after = 0;
  let left = limit ?? Number.POSITIVE_INFINITY;
  while (left > 0) {
    let query = store.db
      .selectFrom('users')
      .select('obj_id')
      .where('obj_id', '>', after)
      .orderBy('obj_id')
      .limit(Math.min(pageSize, left));
    if (where) query = query.where(where);
    const ids = (await query.execute()).map((r) => Number(r.obj_id));
    if (ids.length === 0) return;
    yield ids;
    left -= ids.length;
    after = ids[ids.length - 1] as number;
    if (ids.length < pageSize) return;
  }
}
