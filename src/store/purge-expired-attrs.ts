import type { StoreDriver } from './driver.js';

/** Deletes user attrs whose expiry has passed; returns how many. */
export async function purgeExpiredAttrs(store: StoreDriver, now: Date): Promise<number> {
  const result = await store.db
    .deleteFrom('user_attrs')
    .where('expires_at', 'is not', null)
    .where('expires_at', '<=', now.toISOString())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
