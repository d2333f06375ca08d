import { changeStatements } from '../store/change-statements.js';
import type { ItemResult } from '../model/item-result.js';
import { describeDbError } from '../store/describe-db-error.js';
import type { StoreDriver } from '../store/driver.js';
import { changesBySeq } from '../journal/changes-by-seq.js';
import { loadUsers } from '../store/load-users.js';
import { itemStatements } from '../journal/item-statements.js';
import { planUndo } from '../journal/plan-undo.js';

export interface UndoOptions {
  /** The run being undone. */
  targetRunId: number;
  /** The undo's own run id in the journal; null on a dry run (run it inside `store.rehearse`). */
  runId: number | null;
  force: boolean;
  control: { stopRequested: boolean };
}

const PAGE = 500;

/** The changed items of a run, newest first, page by page (keyset on seq). */
async function* changedItemsNewestFirst(store: StoreDriver, runId: number) {
  let before = Number.MAX_SAFE_INTEGER;
  for (;;) {
    const items = await store.db
      .selectFrom('run_items')
      .select(['seq', 'user_id', 'username'])
      .where('run_id', '=', runId)
      .where('status', '=', 'changed')
      .where('seq', '<', before)
      .orderBy('seq', 'desc')
      .limit(PAGE)
      .execute();
    if (items.length === 0) return;
    const last = items[items.length - 1]?.seq ?? 0;
    const rows = await store.db
      .selectFrom('run_changes')
      .select(['seq', 'kind', 'target', 'before', 'after'])
      .where('run_id', '=', runId)
      .where('seq', '<', before)
      .where('seq', '>=', last)
      .orderBy('seq')
      .orderBy('n')
      .execute();
    const bySeq = changesBySeq(rows);
    yield items.map((i) => ({ ...i, changes: bySeq.get(i.seq) ?? [] }));
    before = last;
  }
}

/**
 * Restores the before values of every change a run made, user by user in reverse order, each
 * user in one transaction with its journal rows. A user changed again since the run is a
 * conflict (status `failed`, left alone) unless `force`. Yields one result per user.
 */
export async function* undoRun(store: StoreDriver, options: UndoOptions): AsyncGenerator<ItemResult> {
  let seq = 0;
  for await (const page of changedItemsNewestFirst(store, options.targetRunId)) {
    const users = await loadUsers(
      store,
      page.map((i) => i.user_id).filter((id): id is number => id !== null),
    );
    const remaining = new Map<number | null, number>();
    for (const item of page) remaining.set(item.user_id, (remaining.get(item.user_id) ?? 0) + 1);
    for (const item of page) {
      remaining.set(item.user_id, (remaining.get(item.user_id) ?? 1) - 1);
      if (options.control.stopRequested) return;
      const base = {
        seq: seq++,
        user_id: item.user_id,
        username: item.username,
        row: null,
        line: null,
        logs: [],
      };
      const user = item.user_id === null ? undefined : users.get(item.user_id);
      if (!user) {
        yield { ...base, status: 'failed', changes: [], error: { message: 'user no longer exists' } };
        continue;
      }
      const { changes, conflicts } = planUndo(user, item.changes, options.force);
      if (conflicts.length > 0 && !options.force) {
        yield {
          ...base,
          status: 'failed',
          changes: [],
          error: {
            message: `conflict: ${conflicts.map((c) => c.reason).join('; ')} (use --force to undo anyway)`,
          },
        };
        continue;
      }
      const result: ItemResult = {
        ...base,
        status: changes.length > 0 ? 'changed' : 'unchanged',
        changes,
        error: null,
      };
      const nowIso = new Date().toISOString();
      const statements = changeStatements(user.id, changes, nowIso);
      if (options.runId !== null) statements.push(...itemStatements(options.runId, result, nowIso));
      try {
        await store.writeBatch(statements);
      } catch (error) {
        yield { ...base, status: 'failed', changes: [], error: { message: describeDbError(error) } };
        continue;
      }
      // A user can appear again (a CSV run with two rows for it): reload its state for that.
      if ((remaining.get(user.id) ?? 0) > 0) {
        const fresh = (await loadUsers(store, [user.id])).get(user.id);
        if (fresh) users.set(user.id, fresh);
      }
      yield result;
    }
  }
}
