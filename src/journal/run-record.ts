import { createHash } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { SERVER_POOL_SIZE, type StoreDriver } from '../store/driver.js';
import { insertReturningId } from '../store/insert-returning-id.js';
import { emptyCounts, type ItemStatus, type RunCounts } from '../model/item-result.js';

/** Run states in the `runs` table. `running` with no live process means it was killed. */
export type RunStatus = 'running' | 'completed' | 'interrupted' | 'stopped';

/**
 * What a run is: a script run, an undo, or one of the commands that change the directory
 * directly but are journaled (and undoable) like a run.
 */
export type RunKind = 'run' | 'undo' | 'import' | 'radius-import' | 'profiles';

/** The command each kind of journaled non-script run was. */
export const RUN_KIND_LABEL: Readonly<Record<string, string>> = {
  import: 'users import',
  'radius-import': 'radius import',
  profiles: 'profiles attr',
};

export interface NewRun {
  kind: RunKind;
  scriptPath: string | null;
  scriptText: string;
  selection: unknown;
  params: Record<string, string>;
  undoOf?: number | null;
  /** The saved script that runs (`usrun run @name@version`); its text is `scriptText` too. */
  script?: { name: string; version: number } | null;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The OS user running usrun, for the journal. */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'unknown';
  }
}

/** Creates the `runs` row of a real run (dry runs have none) and returns its id. */
export async function startRun(store: StoreDriver, run: NewRun, counts: RunCounts): Promise<number> {
  return insertReturningId(
    store,
    store.db.insertInto('runs').values({
      kind: run.kind,
      script_path: run.scriptPath,
      script_text: run.scriptText,
      script_sha256: sha256(run.scriptText),
      selection: JSON.stringify(run.selection),
      params: JSON.stringify(run.params),
      os_user: osUser(),
      host: hostname(),
      pid: process.pid,
      started_at: new Date().toISOString(),
      finished_at: null,
      status: 'running',
      counts: JSON.stringify(counts),
      undo_of: run.undoOf ?? null,
      script_name: run.script?.name ?? null,
      script_version: run.script?.version ?? null,
    }),
    'id',
  );
}

/** Records how a run ended. */
export async function finishRun(
  store: StoreDriver,
  runId: number,
  status: RunStatus,
  counts: RunCounts,
): Promise<void> {
  await store.db
    .updateTable('runs')
    .set({ status, counts: JSON.stringify(counts), finished_at: new Date().toISOString(), pid: null })
    .where('id', '=', runId)
    .execute();
}

/** One more than the connections a server pool holds: each may be dead. */
const MARK_TRIES = SERVER_POOL_SIZE + 1;

/**
 * Records that a run stopped on an error (`interrupted`), as far as the database still lets it,
 * with the counts of the items its journal holds (`countItems`): the ones in memory also count
 * the group(s) the error rolled back, whose items are not journaled (and may have failed only
 * because the connection was gone). Tried again while what failed is a lost connection, because a
 * server that dropped the run's connection may have dropped every pooled one too, and the pool
 * replaces each only once a query has failed on it (up to `MARK_TRIES`: the pool's size, and
 * one). A run that cannot be marked stays `running`, which `runs list` shows as resumable once
 * its process is gone.
 */
export async function markInterrupted(store: StoreDriver, runId: number): Promise<void> {
  for (let tries = 1; tries <= MARK_TRIES; tries++) {
    try {
      await finishRun(store, runId, 'interrupted', await countItems(store, runId));
      return;
    } catch (error) {
      // Another dead pooled connection: try the next. Anything else (the server down): give up.
      if (store.capabilities.classifyError(error).kind !== 'connection-lost') return;
    }
  }
}

/** Marks an interrupted run as running again in this process (resume). */
export async function reopenRun(store: StoreDriver, runId: number): Promise<void> {
  await store.db
    .updateTable('runs')
    .set({ status: 'running', pid: process.pid, host: hostname(), finished_at: null })
    .where('id', '=', runId)
    .execute();
}

/** The seqs of a run's items already journaled: what a resume skips. */
export async function doneSeqs(store: StoreDriver, runId: number): Promise<Set<number>> {
  const rows = await store.db.selectFrom('run_items').select('seq').where('run_id', '=', runId).execute();
  return new Set(rows.map((r) => r.seq));
}

/** A run's counts rebuilt from its items: the truth after a crash left `runs.counts` stale. */
export async function countItems(store: StoreDriver, runId: number): Promise<RunCounts> {
  const rows = await store.db
    .selectFrom('run_items')
    .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
    .where('run_id', '=', runId)
    .groupBy('status')
    .execute();
  const counts = emptyCounts();
  for (const r of rows) {
    if (r.status in counts && r.status !== 'selected') counts[r.status as ItemStatus] += Number(r.n);
    counts.selected += Number(r.n);
  }
  return counts;
}
