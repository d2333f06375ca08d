import type { SandboxJob, SandboxOutcome } from '../sandbox/protocol.js';
import type { Sandbox } from '../sandbox/using-sandbox.js';
import type { StoreDriver } from '../store/driver.js';
import { loadUsers, type StoredUser } from '../store/load-users.js';
import { itemStatements } from '../journal/item-statements.js';
import type { Change } from '../model/change.js';
import { changeStatements } from '../store/change-statements.js';
import { describeDbError } from '../store/describe-db-error.js';
import type { ItemResult } from '../model/item-result.js';
import type { PickedItem } from '../model/picked-item.js';
import { planUserChanges, RejectedChange, type PlanContext } from './plan-user-changes.js';
import { toSandboxSnapshot, type AttrDecrypter } from './to-sandbox-snapshot.js';

/** What a run needs besides the script (already in the sandbox). */
export interface RunScriptOptions {
  store: StoreDriver;
  sandbox: Sandbox;
  /** Pages of picked items, in run order. */
  pages: AsyncIterable<PickedItem[]>;
  /** Every profile by id, for validating memberships. */
  profiles: PlanContext['profiles'];
  cipher: (AttrDecrypter & NonNullable<PlanContext['cipher']>) | null;
  /**
   * Called once, with the first batch's outcomes, before anything is committed: it may refuse
   * the run (throw), and returns the journal's run id (null: no journal, as for dry runs).
   */
  begin: (outcomes: readonly SandboxOutcome[]) => Promise<number | null>;
  /** Stop after this many failed items (undefined = never). */
  maxErrors?: number | undefined;
  /** Set `stopRequested` (e.g. on Ctrl-C) to finish the current user and stop. */
  control: { stopRequested: boolean };
}

/** A batch on its way: its items, their users, results known before the script, and outcomes. */
interface Prepared {
  items: PickedItem[];
  users: Map<number, StoredUser>;
  early: Map<number, ItemResult>;
  outcomes: Promise<SandboxOutcome[]>;
}

/** An item's result decided without running the script (not found, filtered out, …). */
function verdict(
  item: PickedItem,
  users: Map<number, StoredUser>,
  status: ItemResult['status'],
  message: string,
): ItemResult {
  const user = item.userId === null ? undefined : users.get(item.userId);
  const username = user ? String(user.fields['username']) : null;
  const { seq, row, line, userId } = item;
  return { seq, user_id: userId, username, row, line, status, changes: [], logs: [], error: { message } };
}

/** Splits a page where a user repeats (CSV rows), so each batch sees every user's latest state. */
function* uniqueRuns(items: PickedItem[]): Generator<PickedItem[]> {
  let run: PickedItem[] = [];
  let ids = new Set<number>();
  for (const item of items) {
    if (item.userId !== null && !item.verdict && ids.has(item.userId)) {
      yield run;
      run = [];
      ids = new Set();
    }
    run.push(item);
    if (item.userId !== null && !item.verdict) ids.add(item.userId);
  }
  if (run.length > 0) yield run;
}

/**
 * The run loop: for each page, load the users, send them to the sandbox as one batch, then plan,
 * validate and commit each user in its own transaction with its journal rows. The sandbox works
 * on the next batch while this process commits the previous one. Yields one result per item in
 * run order; a user's failure never stops the others.
 */
export async function* runScript(options: RunScriptOptions): AsyncGenerator<ItemResult> {
  const { store, sandbox, control } = options;
  let failed = 0;
  let pending: Prepared | null = null;
  let runId: number | null | undefined;
  const shouldStop = () =>
    control.stopRequested || (options.maxErrors !== undefined && failed >= options.maxErrors);

  const prepare = async (items: PickedItem[]): Promise<Prepared> => {
    const now = new Date().toISOString();
    // Users with a verdict are loaded too, so their items carry a username.
    const ids = items.filter((i) => i.userId !== null).map((i) => i.userId as number);
    const users = await loadUsers(store, ids);
    const jobs: SandboxJob[] = [];
    const early = new Map<number, ItemResult>();
    for (const item of items) {
      if (item.verdict) {
        early.set(item.seq, verdict(item, users, item.verdict.status, item.verdict.message));
        continue;
      }
      const user = item.userId === null ? undefined : users.get(item.userId);
      if (!user) {
        early.set(item.seq, verdict(item, users, 'not_found', `user ${item.userId} no longer exists`));
        continue;
      }
      try {
        jobs.push({ seq: item.seq, user: toSandboxSnapshot(user, now, options.cipher), row: item.row });
      } catch (error) {
        early.set(item.seq, verdict(item, users, 'failed', (error as Error).message));
      }
    }
    return { items, users, early, outcomes: sandbox.runBatch(jobs) };
  };

  const commit = async function* (batch: Prepared): AsyncGenerator<ItemResult> {
    const list = await batch.outcomes;
    if (runId === undefined) runId = await options.begin(list);
    const outcomes = new Map(list.map((o) => [o.seq, o]));
    const quiet: ItemResult[] = [];
    const flushQuiet = async () => {
      if (runId == null || quiet.length === 0) return;
      const now = new Date().toISOString();
      const id = runId;
      await store.writeBatch(quiet.flatMap((r) => itemStatements(id, r, now)));
      quiet.length = 0;
    };
    for (const item of batch.items) {
      if (shouldStop()) break;
      // Let a pending Ctrl-C in: the SQLite work below never yields to the event loop by itself.
      await new Promise(setImmediate);
      if (control.stopRequested) break;
      const result =
        batch.early.get(item.seq) ??
        (await commitUser(
          item,
          batch.users.get(item.userId as number) as StoredUser,
          outcomes.get(item.seq),
        ));
      if (result.status === 'failed') failed += 1;
      if (result.status !== 'changed') quiet.push(result);
      yield result;
    }
    await flushQuiet();
  };

  const commitUser = async (
    item: PickedItem,
    user: StoredUser,
    outcome: SandboxOutcome | undefined,
  ): Promise<ItemResult> => {
    const base = {
      seq: item.seq,
      user_id: user.id,
      username: String(user.fields['username']),
      row: item.row,
      line: item.line,
    };
    if (!outcome) {
      return {
        ...base,
        status: 'failed',
        changes: [],
        logs: [],
        error: { message: 'the sandbox returned no result' },
      };
    }
    const logs = Array.isArray(outcome.logs) ? outcome.logs.filter((l) => typeof l === 'string') : [];
    if (outcome.status === 'failed') {
      const error = {
        message: String(outcome.message ?? 'script failed'),
        ...(outcome.location ? { location: String(outcome.location) } : {}),
      };
      return { ...base, status: 'failed', changes: [], logs, error };
    }
    if (outcome.status === 'skipped') {
      return {
        ...base,
        status: 'skipped',
        changes: [],
        logs,
        error: outcome.message ? { message: String(outcome.message) } : null,
      };
    }
    const now = new Date();
    let changes: Change[];
    try {
      changes = planUserChanges(user, outcome, { profiles: options.profiles, now, cipher: options.cipher });
    } catch (error) {
      if (!(error instanceof RejectedChange)) throw error;
      return {
        ...base,
        status: 'failed',
        changes: [],
        logs,
        error: { message: `rejected change: ${error.message}` },
      };
    }
    if (changes.length === 0) return { ...base, status: 'unchanged', changes, logs, error: null };
    const result: ItemResult = { ...base, status: 'changed', changes, logs, error: null };
    const nowIso = now.toISOString();
    const statements = changeStatements(user.id, changes, nowIso);
    if (runId != null) statements.push(...itemStatements(runId, result, nowIso));
    try {
      await store.writeBatch(statements);
    } catch (error) {
      return { ...base, status: 'failed', changes: [], logs, error: { message: describeDbError(error) } };
    }
    return result;
  };

  for await (const page of options.pages) {
    for (const items of uniqueRuns(page)) {
      if (shouldStop()) break;
      // A user in both batches must be committed before it is loaded again.
      if (pending && items.some((i) => i.userId !== null && pending?.users.has(i.userId))) {
        yield* commit(pending);
        pending = null;
      }
      const next = await prepare(items);
      if (pending) yield* commit(pending);
      pending = next;
    }
    if (shouldStop()) break;
  }
  if (pending) {
    if (shouldStop()) {
      await pending.outcomes.catch(() => undefined);
    } else {
      yield* commit(pending);
    }
  }
  // Nothing was selected: the run is still recorded.
  if (runId === undefined) await options.begin([]);
}
