import { itemStatements } from '../journal/item-statements.js';
import type { ItemResult, RunCounts } from '../model/item-result.js';
import { changeStatements, userById, userByName } from '../store/change-statements.js';
import { createsUser } from '../journal/item-statements.js';
import { GROUP_KINDS } from '../model/change.js';
import { describeDbError } from '../store/describe-db-error.js';
import type { DialectCapabilities, SqlStatement } from '../store/driver.js';
import type { StoredUser } from '../store/load-users.js';
import { StaleRowError, type Writer } from '../store/writer.js';
import type { RunControl } from './run-control.js';

/** An item ready to commit: its result as planned, and the user state it was planned from. */
export interface PlannedItem {
  /** `changed` carries the changes to write; every other status writes only its journal row. */
  result: ItemResult;
  /** The user as read for planning: its version guards the write. Null when no user is written. */
  user: StoredUser | null;
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
  writer: Writer;
  capabilities: DialectCapabilities;
  source: PlannedSource;
  control: RunControl;
  /** Creates the journal's run row (committed on its own) before the first unit; null: no journal. */
  begin: () => Promise<number | null>;
  /** The run's counts so far (a resume starts from the journaled ones); updated in place. */
  counts: RunCounts;
  /** A group commits after this long… */
  groupMs?: number;
  /** …or this many items, whichever comes first. */
  groupSize?: number;
  /** How often an item whose user changed under it is planned again before it fails. */
  maxTries?: number;
  now?: () => number;
}

const GROUP_MS = 200;
const GROUP_SIZE = 500;
const MAX_TRIES = 3;

/**
 * The one commit path of run, resume and undo. Each item's changes and journal rows are one
 * unit (a SAVEPOINT) in a group transaction that commits many items at once: after `groupMs`,
 * after `groupSize` items, whenever the source has nothing ready (a slow script still commits
 * user by user), at a barrier, and at the end or a stop. The run's counts are written in the same
 * transaction, so the journal always agrees with the data, and a crash loses at most the open
 * group — whose items have no journal rows, so `--resume` runs them again.
 *
 * A unit whose user moved since it was read (another run, another tool) is rolled back and the
 * item planned again from the new state, up to `maxTries` times. Any other database error fails
 * that item alone. Yields each item's result once its group has committed.
 */
export async function* commitItems(options: CommitOptions): AsyncGenerator<ItemResult> {
  const { writer, source, control, counts } = options;
  const now = options.now ?? Date.now;
  const groupMs = options.groupMs ?? GROUP_MS;
  const groupSize = options.groupSize ?? GROUP_SIZE;
  const maxTries = options.maxTries ?? MAX_TRIES;
  let runId: number | null | undefined;
  let group: ItemResult[] = [];
  let groupStarted = 0;

  const flush = async (): Promise<ItemResult[]> => {
    if (group.length > 0 && runId != null) {
      await writer.unit([
        { sql: 'UPDATE runs SET counts = ? WHERE id = ?', params: [JSON.stringify(counts), runId] },
      ]);
    }
    await writer.commit();
    const done = group;
    group = [];
    return done;
  };

  const journalOnly = (result: ItemResult, nowIso: string): SqlStatement[] =>
    runId == null ? [] : itemStatements(runId, result, nowIso);

  const apply = async (first: PlannedItem): Promise<{ result: ItemResult; flushed: ItemResult[] }> => {
    let planned = first;
    const flushed: ItemResult[] = [];
    for (let tries = 1; ; tries++) {
      const { result, user } = planned;
      const nowIso = new Date(now()).toISOString();
      // A stored user is guarded by its version; a user the item creates is found by its
      // username; a profile's item has no user at all.
      const owner = user
        ? userById(user.id)
        : createsUser(result) && result.username !== null
          ? userByName(result.username)
          : null;
      const writes =
        result.status === 'changed' && (owner || result.changes.every((c) => GROUP_KINDS.includes(c.kind)))
          ? changeStatements(owner, result.changes, nowIso, user?.version)
          : [];
      const statements = [...writes, ...journalOnly(result, nowIso)];
      if (statements.length === 0) return { result, flushed };
      try {
        await writer.unit(statements);
        if (result.user_id === null && owner && writes.length > 0) {
          // The new user's id, for the report (the journal recorded it in the unit).
          const [row] = await writer.query<{ obj_id: number }>(
            'SELECT obj_id FROM users WHERE username = ?',
            [result.username],
          );
          return { result: { ...result, user_id: row ? Number(row.obj_id) : null }, flushed };
        }
        return { result, flushed };
      } catch (error) {
        let message: string;
        if (error instanceof StaleRowError) {
          if (tries < maxTries) {
            // Let the other writer's work settle (SQLite holds its write lock for our group),
            // then plan this item again from what is there now.
            flushed.push(...(await flush()));
            planned = await source.replan(planned);
            continue;
          }
          message = `someone else changed this user while the script ran (${tries} tries); run it again`;
        } else {
          message = describeDbError(error, options.capabilities);
        }
        const failed: ItemResult = { ...result, status: 'failed', changes: [], error: { message } };
        await writer.unit(journalOnly(failed, nowIso));
        return { result: failed, flushed };
      }
    }
  };

  for (;;) {
    if (control.halted) break;
    if (group.length > 0 && (!source.ready || now() - groupStarted >= groupMs)) yield* await flush();
    const next = await source.next();
    if (next === null) break;
    if (next === BARRIER) {
      yield* await flush();
      continue;
    }
    if (control.halted) break;
    if (runId === undefined) runId = await options.begin();
    const { result, flushed } = await apply(next);
    yield* flushed;
    if (group.length === 0) groupStarted = now();
    group.push(result);
    counts.selected += 1;
    counts[result.status] += 1;
    control.count(result);
    if (group.length >= groupSize) yield* await flush();
  }
  yield* await flush();
  // Nothing was selected: the run is still recorded.
  if (runId === undefined && !control.halted) await options.begin();
}
