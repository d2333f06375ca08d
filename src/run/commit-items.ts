import { setTimeout as sleep } from 'node:timers/promises';
import { createsUser, journalStatements } from '../journal/item-statements.js';
import type { ItemResult, RunCounts } from '../model/item-result.js';
import { changeStatements, type ProfileVersion, userById, userByName } from '../store/change-statements.js';
import { GROUP_KINDS } from '../model/change.js';
import { describeDbError } from '../store/describe-db-error.js';
import type { DialectCapabilities } from '../store/driver.js';
import type { StoredUser } from '../store/load-users.js';
import type { SqlStatement } from '../store/driver.js';
import { GroupLostError, StaleRowError, type Writer } from '../store/writer.js';
import type { RunControl } from './run-control.js';

/** An item ready to commit: its result as planned, and the user state it was planned from. */
export interface PlannedItem {
  /** `changed` carries the changes to write; every other status writes only its journal row. */
  result: ItemResult;
  /** The user as read for planning: its version guards the write. Null when no user is written. */
  user: StoredUser | null;
  /**
   * The profile a profile's item changes, as read for planning: its version guards the write.
   * Absent when the item creates the profile (or changes none).
   */
  profile?: ProfileVersion | null;
}

/** Marks a point where everything before must be committed before anything after is planned. */
export const BARRIER = Symbol('barrier');

/** Where planned items come from: the sandbox (run, resume) or the journal (undo). */
export interface PlannedSource {
  /** True when `next()` can answer without waiting. */
  readonly ready: boolean;
  /** The next item in run order, a barrier, or null at the end (or once a stop has drained). */
  next(): Promise<PlannedItem | typeof BARRIER | null>;
  /** Plans an item again from its user's current state: the user changed since it was read. */
  replan(item: PlannedItem): Promise<PlannedItem>;
}

export interface CommitOptions {
  /** One writer per lane: a server database commits several groups at once (`--concurrency`). */
  writers: readonly Writer[];
  capabilities: DialectCapabilities;
  source: PlannedSource;
  control: RunControl;
  /** Creates the journal's run row (committed on its own) before the first unit; null: no journal. */
  begin: () => Promise<number | null>;
  /** The run's counts so far (a resume starts from the journaled ones); updated in place. */
  counts: RunCounts;
  /**
   * Statements every group commits with its items, in the same transaction (default: the run's
   * counts). A statement whose `expectRows` is not met fails the group and ends the run: how a
   * worker of a shared run proves it still holds the chunks its items belong to.
   */
  groupStatements?: (group: readonly ItemResult[], runId: number) => SqlStatement[];
  /** A group commits after this long… */
  groupMs?: number;
  /** …or this many items, whichever comes first. */
  groupSize?: number;
  /** How often an item whose user changed under it is planned again before it fails. */
  maxTries?: number;
  now?: () => number;
  /** Resolves after `ms` (the clock of `now`); a test injects its own. */
  sleep?: (ms: number) => Promise<void>;
}

const GROUP_MS = 200;
const GROUP_SIZE = 1000;
const MAX_TRIES = 3;

/** Results as lanes commit them, read by one consumer. */
class ResultQueue {
  private items: ItemResult[] = [];
  private done = false;
  private error: unknown;
  private wake: (() => void) | null = null;

  push(results: readonly ItemResult[]): void {
    this.items.push(...results);
    this.notify();
  }

  end(error?: unknown): void {
    this.done = true;
    this.error = error;
    this.notify();
  }

  async *drain(): AsyncGenerator<ItemResult> {
    for (;;) {
      const batch = this.items;
      this.items = [];
      yield* batch;
      if (this.items.length > 0) continue;
      if (this.done) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** A group's wait for its next item: it must not keep the process alive once the run is over. */
const realSleep = (ms: number): Promise<void> => sleep(ms, undefined, { ref: false });

/** Runs `fn`s one at a time, in call order. */
function serial(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const result = tail.then(fn);
    tail = result.catch(() => undefined);
    return result;
  };
}

/**
 * The one commit path of run, resume and undo. Each item's changes are one unit (a SAVEPOINT)
 * in a group transaction that commits many items at once: after `groupMs`, after `groupSize`
 * items, when the source has nothing for the rest of `groupMs` (a slow script still commits user
 * by user), at a barrier, and at the end or a stop. The group's journal rows (a few multi-row
 * INSERTs) and the run's counts are written in the same transaction just before it commits, so
 * the journal always agrees with the data, and a crash loses at most the open group(s) — whose
 * items have no journal rows, so `--resume` runs them again.
 *
 * With several writers (lanes), each takes the next item from the shared source and commits its
 * own groups, so a server database has several transactions in flight; a barrier waits for every
 * lane's group to commit. A unit whose user moved since it was read (another run, another tool),
 * or that lost a deadlock or lock wait, is rolled back and the item planned again from the new
 * state, up to `maxTries` times. Any other database error fails that item alone. Yields each
 * item's result once its group has committed.
 */
export async function* commitItems(options: CommitOptions): AsyncGenerator<ItemResult> {
  const { source, control, counts } = options;
  const now = options.now ?? Date.now;
  const groupMs = options.groupMs ?? GROUP_MS;
  const groupSize = options.groupSize ?? GROUP_SIZE;
  const maxTries = options.maxTries ?? MAX_TRIES;
  const wait = options.sleep ?? realSleep;
  /** True when `promise` settles within `ms`, false when the time runs out first. */
  const settlesWithin = async (promise: Promise<unknown>, ms: number): Promise<boolean> => {
    if (ms <= 0) return false;
    let settled = false;
    await Promise.race([
      promise.then(
        () => (settled = true),
        () => (settled = true),
      ),
      wait(ms),
    ]);
    return settled;
  };
  const results = new ResultQueue();
  const pulls = serial();
  let runId: Promise<number | null> | undefined;
  const begin = () => (runId ??= options.begin());

  interface Lane {
    writer: Writer;
    group: ItemResult[];
    /** What each of the group's results was applied from, to apply it again if the group is lost. */
    planned: PlannedItem[];
    started: number;
    /** Times the open group was lost (rolled back whole by the server) and applied again. */
    losses: number;
    /** Everything done with the lane's writer goes through here, one thing at a time. */
    exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  }
  const lanes: Lane[] = options.writers.map((writer) => ({
    writer,
    group: [],
    planned: [],
    started: 0,
    losses: 0,
    exclusive: serial(),
  }));

  const groupStatements =
    options.groupStatements ??
    ((_group: readonly ItemResult[], id: number): SqlStatement[] => [
      { sql: 'UPDATE runs SET counts = ? WHERE id = ?', params: [JSON.stringify(counts), id] },
    ]);

  const flush = async (lane: Lane): Promise<void> => {
    const id = runId === undefined ? null : await runId;
    for (let tries = 1; lane.group.length > 0 && id !== null; tries++) {
      try {
        // The group's counts and journal rows (stamped with its commit time), then COMMIT. The
        // counts first: the group takes the run's row before its journal rows' foreign keys
        // share-lock it, so parallel groups queue there instead of deadlocking.
        const nowIso = new Date(now()).toISOString();
        await lane.writer.unit([
          ...groupStatements(lane.group, id),
          ...journalStatements(id, lane.group, nowIso),
        ]);
        break;
      } catch (error) {
        if (!(error instanceof GroupLostError)) throw error;
        if (tries >= maxTries) throw error.cause;
        await applyAgain(lane, error);
      }
    }
    await lane.writer.commit();
    lane.losses = 0;
    const done = lane.group;
    lane.group = [];
    lane.planned = [];
    results.push(done);
  };

  /**
   * The server rolled back the lane's whole open group (an InnoDB deadlock): none of its units is
   * written any more, though each was applied. Apply them again, in order, each from the state it
   * was planned from (a user changed meanwhile is planned again, as always), and correct the
   * counts where an item's result came out differently this time.
   */
  const applyAgain = async (lane: Lane, lost: GroupLostError): Promise<void> => {
    // A rehearsal's group is the whole dry run, of which only the last part is still at hand.
    if (lane.writer.rehearsal || ++lane.losses > maxTries * 10) throw lost.cause;
    const planned = lane.planned;
    const before = lane.group;
    lane.planned = [];
    lane.group = [];
    for (const [i, item] of planned.entries()) {
      const result = await apply(lane, item);
      const old = before[i] as ItemResult;
      if (result.status !== old.status) {
        counts[old.status] -= 1;
        counts[result.status] += 1;
        control.count(result);
      }
      lane.group.push(result);
    }
  };

  /** The next item for a lane; a barrier first waits for every lane's group to commit. */
  const pull = () =>
    pulls(async () => {
      for (;;) {
        const next = await source.next();
        if (next !== BARRIER) return next;
        await Promise.all(lanes.map((lane) => lane.exclusive(() => flush(lane))));
      }
    });

  const apply = async (lane: Lane, first: PlannedItem): Promise<ItemResult> => {
    await begin();
    let planned = first;
    for (let tries = 1; ; tries++) {
      const { result, user, profile } = planned;
      const nowIso = new Date(now()).toISOString();
      // A stored user is guarded by its version; a user the item creates is found by its
      // username; a profile's item has no user at all.
      const owner = user
        ? userById(user.id)
        : createsUser(result) && result.username !== null
          ? userByName(result.username, options.capabilities.captureId)
          : null;
      const writes =
        result.status === 'changed' && (owner || result.changes.every((c) => GROUP_KINDS.includes(c.kind)))
          ? changeStatements(owner, result.changes, nowIso, {
              version: user?.version,
              profile: profile ?? undefined,
              captureId: options.capabilities.captureId,
            })
          : [];
      // The item's journal rows are written with its group's (flush).
      if (writes.length === 0) {
        lane.planned.push(planned);
        return result;
      }
      try {
        await lane.writer.unit(writes);
        lane.planned.push(planned);
        if (result.user_id === null && owner && writes.length > 0) {
          // The new user's id, for the report and the item's journal row (written at the flush).
          const [row] = await lane.writer.query<{ obj_id: number }>(
            'SELECT obj_id FROM users WHERE username = ?',
            [result.username],
          );
          return { ...result, user_id: row ? Number(row.obj_id) : null };
        }
        return result;
      } catch (error) {
        if (error instanceof GroupLostError) {
          // This unit and every earlier one of the group are gone: apply those again, then this.
          // (Never counted as done: a group reports its items only once it has committed.)
          if (tries >= maxTries) throw error.cause;
          await applyAgain(lane, error);
          continue;
        }
        const stale = error instanceof StaleRowError;
        const kind = stale ? null : options.capabilities.classifyError(error).kind;
        // A privilege the database user lacks, or a connection gone, is no one user's failure:
        // every later user would fail alike. The run stops; the open group rolls back (or went
        // with the connection), and `--resume` finishes the run.
        if (kind === 'privileges' || kind === 'connection-lost') throw error;
        if ((stale || kind === 'busy') && tries < maxTries) {
          // Let the other writer's work settle (our group holds its locks), then plan this
          // item again from what is there now.
          await flush(lane);
          planned = await source.replan(planned);
          continue;
        }
        const message = stale
          ? profile
            ? `someone else changed profile ${profile.short_name} since it was read (${tries} tries); run it again`
            : `someone else changed this user while the script ran (${tries} tries); run it again`
          : describeDbError(error, options.capabilities);
        const failed: ItemResult = { ...result, status: 'failed', changes: [], error: { message } };
        lane.planned.push({ result: failed, user: null });
        return failed;
      }
    }
  };

  let abandoned = false;
  const run = async (lane: Lane): Promise<void> => {
    for (;;) {
      if (control.halted || abandoned) break;
      if (lane.group.length > 0 && now() - lane.started >= groupMs) await lane.exclusive(() => flush(lane));
      let next: PlannedItem | null;
      if (lane.group.length > 0 && !source.ready) {
        // Nothing at hand: wait for the next item no longer than the group has left, then commit
        // what is done (a slow script still commits user by user, each within groupMs).
        const pending = pull();
        const came = await settlesWithin(pending, groupMs - (now() - lane.started));
        if (!came && !abandoned) await lane.exclusive(() => flush(lane));
        next = await pending;
      } else next = await pull();
      if (next === null || control.halted || abandoned) break;
      const result = await lane.exclusive(async () => {
        const r = await apply(lane, next);
        if (lane.group.length === 0) lane.started = now();
        lane.group.push(r);
        return r;
      });
      counts.selected += 1;
      counts[result.status] += 1;
      control.count(result);
      if (lane.group.length >= groupSize) await lane.exclusive(() => flush(lane));
    }
    // Abandoned (an error elsewhere): the open group rolls back, as a crash would (see `drop`).
    if (abandoned) await drop(lane);
    else await lane.exclusive(() => flush(lane));
  };

  /**
   * Rolls back a lane's open group the moment the lane stops on an error (its own or another
   * lane's), not once every lane has settled: its row locks could be what another lane waits
   * for at one remove — behind another worker's group (a shared run) that waits for these rows —
   * and the run would wait for that lane forever (PostgreSQL has no lock timeout). A rollback
   * that fails (a connection gone) leaves the group to the server, as a crash would.
   */
  const drop = (lane: Lane): Promise<void> =>
    lane.exclusive(() => lane.writer.rollback()).catch(() => undefined);

  // Every lane settles before the writers are given back; the first error ends the rest.
  const all = Promise.allSettled(
    lanes.map((lane) =>
      run(lane).catch(async (error: unknown) => {
        abandoned = true;
        await drop(lane);
        throw error;
      }),
    ),
  ).then(async (settled) => {
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure) return results.end(failure.reason);
    // Nothing was selected: the run is still recorded.
    if (runId === undefined && !control.halted) await begin();
    results.end();
  });
  try {
    yield* results.drain();
  } finally {
    // The consumer may leave early (an error of its own): the lanes stop at their next item.
    abandoned = true;
    await all.catch(() => undefined);
  }
}
