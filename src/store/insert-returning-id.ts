import { sql, type InsertQueryBuilder, type InsertResult } from 'kysely';
import type { Database } from './database.js';
import type { StoreDriver } from './driver.js';

/**
 * Runs an INSERT of one row and returns the id the database generated for it: through
 * `RETURNING` where the dialect has it, else the driver's `insertId` (MySQL).
 */
export async function insertReturningId<TB extends keyof Database>(
  store: StoreDriver,
  insert: InsertQueryBuilder<Database, TB, InsertResult>,
  idColumn: string,
): Promise<number> {
  if (store.capabilities.insertReturnsId) {
    const row = await insert.returning(sql<number>`${sql.ref(idColumn)}`.as('id')).executeTakeFirstOrThrow();
    return Number(row.id);
  }
  const result = await insert.executeTakeFirstOrThrow();
  return Number(result.insertId);
}
