import type { Selectable } from 'kysely';
import { UsageError } from '../errors.js';
import { countItems } from './run-record.js';
import type { RunsTable } from '../store/database.js';
import type { ItemNote, ItemResult, RunCounts } from '../model/item-result.js';
import type { StoreDriver } from '../store/driver.js';
import { readChangesBySeq } from './changes-by-seq.js';

type RunRow = Omit<Selectable<RunsTable>, 'script_text'>;

/** A `runs` row (without the script text), its JSON columns decoded. */
export type RunInfo = Omit<RunRow, 'selection' | 'params' | 'counts'> & {
  selection: Record<string, unknown>;
  params: Record<string, string>;
  counts: RunCounts;
};

const RUN_COLUMNS = [
  'id',
  'kind',
  'script_path',
  'script_sha256',
  'selection',
  'params',
  'os_user',
  'host',
  'pid',
  'started_at',
  'finished_at',
  'status',
  'counts',
  'undo_of',
  'script_name',
  'script_version',
] as const;

function decode(row: RunRow): RunInfo {
  return {
    ...row,
    selection: JSON.parse(row.selection) as Record<string, unknown>,
    params: JSON.parse(row.params) as Record<string, string>,
    counts: JSON.parse(row.counts) as RunCounts,
  };
}

/** Runs, newest first. */
export async function listRuns(store: StoreDriver, limit = 50): Promise<RunInfo[]> {
  const rows = await store.db
    .selectFrom('runs')
    .select(RUN_COLUMNS)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const runs = rows.map(decode);
  for (const run of runs) await recountRunning(store, run);
  return runs;
}

/**
 * A running (or killed) run's `runs.counts` are those of its last commit of one lane; with
 * several lanes (--concurrency) another's may be newer, and a shared run's workers (--join) leave
 * them to the end: its items are the truth.
 */
async function recountRunning(store: StoreDriver, run: RunInfo): Promise<void> {
  if (run.status === 'running') run.counts = await countItems(store, run.id);
}

/** One run (a running one recounted, as in `listRuns`), or a UsageError naming the id. */
export async function getRun(store: StoreDriver, runId: number): Promise<RunInfo & { script_text: string }> {
  const row = await store.db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!row) throw new UsageError(`no run with id ${runId} (see \`usrun runs list\`)`);
  const run = decode(row);
  await recountRunning(store, run);
  return { ...run, script_text: row.script_text };
}

/** Which items of a run to read: one status, a page. */
export interface ItemQuery {
  status?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
  /** Only items after this seq (keyset paging through a whole run). */
  afterSeq?: number | undefined;
  /** Leave the changes out (grouping needs only messages). */
  withoutChanges?: boolean;
  /** Only items that failed, were not found or skipped, or made a call with no effect. */
  problems?: boolean;
}

/** How many items of a run there are (with this status). */
export async function countRunItems(store: StoreDriver, runId: number, status?: string): Promise<number> {
  let query = store.db
    .selectFrom('run_items')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('run_id', '=', runId);
  if (status !== undefined) query = query.where('status', '=', status);
  const row = await query.executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The items of a run with their changes, in run order; optionally one status, one page. */
export async function runItems(
  store: StoreDriver,
  runId: number,
  options: ItemQuery | string = {},
): Promise<ItemResult[]> {
  const q: ItemQuery = typeof options === 'string' ? { status: options } : options;
  let query = store.db.selectFrom('run_items').selectAll().where('run_id', '=', runId).orderBy('seq');
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.afterSeq !== undefined) query = query.where('seq', '>', q.afterSeq);
  if (q.problems)
    query = query.where((eb) =>
      eb.or([eb('status', 'in', ['failed', 'not_found', 'skipped']), eb('notes', 'is not', null)]),
    );
  if (q.limit !== undefined) query = query.limit(q.limit);
  // MySQL takes OFFSET only after a LIMIT: a huge one stands for "all".
  if (q.offset !== undefined && q.offset > 0)
    query = (q.limit === undefined ? query.limit(Number.MAX_SAFE_INTEGER) : query).offset(q.offset);
  const items = await query.execute();
  let bySeq = new Map<number, ItemResult['changes']>();
  if (!q.withoutChanges && items.length > 0) {
    // Only the changes of the items read: a page of a 100,000-user run reads a page of changes.
    const first = (items[0] as (typeof items)[number]).seq;
    const last = (items[items.length - 1] as (typeof items)[number]).seq;
    bySeq = await readChangesBySeq(store, runId, first, last);
  }
  return items.map((i) => {
    const row =
      i.row_json === null
        ? null
        : (JSON.parse(i.row_json) as { line: number | null; values: Record<string, string> });
    return {
      seq: i.seq,
      user_id: i.user_id,
      username: i.username,
      ...(i.profile !== null ? { profile: i.profile } : {}),
      row: row?.values ?? null,
      line: row?.line ?? null,
      status: i.status as ItemResult['status'],
      changes: bySeq.get(i.seq) ?? [],
      logs: i.logs === null ? [] : (JSON.parse(i.logs) as string[]),
      error: i.error === null ? null : (JSON.parse(i.error) as ItemResult['error']),
      ...(i.notes ? { notes: JSON.parse(i.notes) as ItemNote[] } : {}),
    };
  });
}

/** True when the process that ran `run` is gone (a run killed outright stays `running`). */
export function isOrphaned(run: Pick<RunInfo, 'status' | 'pid' | 'host'>, host: string): boolean {
  if (run.status !== 'running') return false;
  if (run.pid === null || run.host !== host) return run.pid === null;
  try {
    process.kill(run.pid, 0);
    return false;
  } catch {
    return true;
  }
}
