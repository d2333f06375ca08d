import type { Change } from '../model/change.js';
import { loadUsers, type Reader, type StoredUser } from '../store/load-users.js';
import { BARRIER, type PlannedItem, type PlannedSource } from './commit-items.js';
import type { RunControl } from './run-control.js';
import type { StoreDriver } from '../store/driver.js';
import { readChangesBySeq } from '../journal/changes-by-seq.js';
import { planUndo } from '../journal/plan-undo.js';
import { loadProfile, type StoredProfile } from '../store/profile-attributes.js';

export interface UndoOptions {
  /** The run being undone. */
  targetRunId: number;
  force: boolean;
  control: RunControl;
}

interface UndoPageItem {
  seq: number;
  user_id: number | null;
  username: string | null;
  profile: string | null;
  changes: Change[];
}

const PAGE = 500;

/** The changed items of a run, newest first, page by page (keyset on seq). */
async function* changedItemsNewestFirst(store: StoreDriver, runId: number): AsyncGenerator<UndoPageItem[]> {
  // Above every seq, and still an integer to PostgreSQL (a 4-byte `integer` column).
  let before = 2_147_483_647;
  for (;;) {
    const items = await store.db
      .selectFrom('run_items')
      .select(['seq', 'user_id', 'username', 'profile'])
      .where('run_id', '=', runId)
      .where('status', '=', 'changed')
      .where('seq', '<', before)
      .orderBy('seq', 'desc')
      .limit(PAGE)
      .execute();
    if (items.length === 0) return;
    const last = items[items.length - 1]?.seq ?? 0;
    const bySeq = await readChangesBySeq(store, runId, last, items[0]?.seq ?? last);
    yield items.map((i) => ({ ...i, changes: bySeq.get(i.seq) ?? [] }));
    before = last;
  }
}

/**
 * Undo as a `PlannedSource`: the target run's changed items, newest first, each planned against
 * its user's current state (`planUndo`). A user changed again since the run is a conflict
 * (`failed`, journaled, left alone) unless `force`. A user that appears again (a CSV run with two
 * rows for it) waits at a barrier for the earlier restore to commit.
 */
class UndoSource implements PlannedSource {
  private readonly pages: AsyncGenerator<UndoPageItem[]>;
  private queue: UndoPageItem[] = [];
  private users = new Map<number, StoredUser>();
  private seen = new Set<number>();
  private seq = 0;
  private done = false;

  constructor(
    private readonly reader: Reader,
    private readonly options: UndoOptions,
    store: StoreDriver,
  ) {
    this.pages = changedItemsNewestFirst(store, options.targetRunId);
  }

  get ready(): boolean {
    return this.queue.length > 0;
  }

  async next(): Promise<PlannedItem | typeof BARRIER | null> {
    if (this.options.control.stopping) return null;
    if (this.queue.length === 0) {
      if (this.done) return null;
      const page = await this.pages.next();
      if (page.done) {
        this.done = true;
        return null;
      }
      this.queue = page.value;
      await this.load(this.queue);
    }
    const item = this.queue[0] as UndoPageItem;
    if (item.user_id !== null && this.seen.has(item.user_id)) {
      this.seen.clear();
      await this.load(this.queue);
      return BARRIER;
    }
    this.queue.shift();
    if (item.user_id !== null) this.seen.add(item.user_id);
    return await this.plan(item, this.seq++);
  }

  async replan(planned: PlannedItem): Promise<PlannedItem> {
    const { seq, user_id: userId, username } = planned.result;
    const users = await loadUsers(this.reader, userId === null ? [] : [userId]);
    const changes = this.last?.seq === seq ? this.last.changes : [];
    const profile = planned.result.profile ?? null;
    const item = { seq, user_id: userId, username, profile, changes };
    return this.planFor(item, seq, users.get(userId ?? -1), await this.profileOf(item));
  }

  /** The item handed out last: the only one `replan` is ever asked about. */
  private last: { seq: number; changes: Change[] } | null = null;

  private async load(items: UndoPageItem[]): Promise<void> {
    const ids = items.map((i) => i.user_id).filter((id): id is number => id !== null);
    this.users = await loadUsers(this.reader, ids);
  }

  private async plan(item: UndoPageItem, seq: number): Promise<PlannedItem> {
    this.last = { seq, changes: item.changes };
    const user = item.user_id === null ? undefined : this.users.get(item.user_id);
    return this.planFor(item, seq, user, await this.profileOf(item));
  }

  /** A profile's item is checked against the profile as it is now (one at a time: they are few). */
  private profileOf(item: UndoPageItem): Promise<StoredProfile | null> {
    return item.profile === null ? Promise.resolve(null) : loadProfile(this.reader, item.profile);
  }

  private planFor(
    item: UndoPageItem,
    seq: number,
    user: StoredUser | undefined,
    profile: StoredProfile | null,
  ): PlannedItem {
    const base = {
      seq,
      user_id: item.user_id,
      username: item.username,
      ...(item.profile !== null ? { profile: item.profile } : {}),
      row: null,
      line: null,
      logs: [],
    };
    // A user the run deleted (an undone import) or created may be gone: planUndo decides. Any
    // other item's user must still be there.
    const aboutUser = item.changes.some((c) => c.kind === 'user');
    if (!user && item.user_id !== null && !aboutUser) {
      return {
        result: { ...base, status: 'failed', changes: [], error: { message: 'user no longer exists' } },
        user: null,
      };
    }
    const { changes, conflicts } = planUndo(
      { user: user ?? null, profile },
      item.changes,
      this.options.force,
    );
    if (conflicts.length > 0 && !this.options.force) {
      const message = `conflict: ${conflicts.map((c) => c.reason).join('; ')} (use --force to undo anyway)`;
      return { result: { ...base, status: 'failed', changes: [], error: { message } }, user: null };
    }
    const status = changes.length > 0 ? 'changed' : 'unchanged';
    // A profile's rows are restored only while the profile is as read here (its version).
    const guard = profile ? { short_name: profile.short_name, version: profile.version } : null;
    return { result: { ...base, status, changes, error: null }, user: user ?? null, profile: guard };
  }
}

/**
 * The items that restore the before values of every change a run made, user by user in reverse
 * order, planned from what `reader` shows (the writer itself on a dry run). Committed through
 * the one commit path (`commitPlanned`) like any other run.
 */
export function undoSource(store: StoreDriver, reader: Reader, options: UndoOptions): PlannedSource {
  return new UndoSource(reader, options, store);
}
