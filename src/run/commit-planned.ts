import { finishRun, markInterrupted, startRun, type NewRun, type RunStatus } from '../journal/run-record.js';
import { emptyCounts, type ItemResult, type RunCounts } from '../model/item-result.js';
import type { StoreDriver } from '../store/driver.js';
import type { Reader } from '../store/load-users.js';
import { usingWriter } from '../store/writer.js';
import { commitItems, type PlannedSource } from './commit-items.js';
import type { RunControl } from './run-control.js';

export interface CommitPlannedOptions {
  /** The journal's runs row (kind, what ran, selection); not written on a dry run. */
  run: NewRun;
  /** Rehearse: the same path inside one transaction that is rolled back, no journal. */
  dryRun: boolean;
  /**
   * The items, planned from what `reader` shows: on a dry run the writer itself, so that later
   * items see what earlier ones (rolled back at the end) created.
   */
  source: (reader: Reader) => PlannedSource;
  control: RunControl;
  /** Each item once its group committed (or, on a dry run, once applied). */
  onItem: (item: ItemResult) => void;
  /** The run's id, once its `runs` row is written (for the progress line). */
  onBegin?: (runId: number) => void;
}

export interface CommitPlannedResult {
  runId: number | null;
  status: RunStatus;
  counts: RunCounts;
}

/**
 * Commits items planned by a command rather than a script (`users import`, `radius import`,
 * `profiles attr`) through the one commit path, journaled as a run of `run.kind`: created in
 * `runs` before the first unit, finished with its status and counts — `interrupted` if anything
 * throws.
 */
export async function commitPlanned(
  store: StoreDriver,
  options: CommitPlannedOptions,
): Promise<CommitPlannedResult> {
  const { dryRun, control } = options;
  const counts = emptyCounts();
  let runId: number | null = null;
  const begin = async () => {
    if (dryRun) return null;
    runId = await startRun(store, options.run, counts);
    options.onBegin?.(runId);
    return runId;
  };
  try {
    await usingWriter(store, { rehearsal: dryRun }, async (writer) => {
      const items = commitItems({
        writers: [writer],
        capabilities: store.capabilities,
        source: options.source(dryRun ? writer : store),
        control,
        begin,
        counts,
      });
      for await (const item of items) options.onItem(item);
    });
  } catch (error) {
    if (runId !== null) await markInterrupted(store, runId);
    throw error;
  }
  const status = control.status;
  if (runId !== null) await finishRun(store, runId, status, counts);
  return { runId, status, counts };
}
