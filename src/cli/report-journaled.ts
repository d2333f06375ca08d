import type { ItemResult } from '../model/item-result.js';
import type { CommitPlannedResult } from '../run/commit-planned.js';
import { RunControl } from '../run/run-control.js';
import type { Io } from './io.js';
import { RunReporter } from './run-reporter.js';
import { watchStopSignals } from './watch-stop-signals.js';
import { confirmOrDecline } from './confirm-or-decline.js';

export interface ReportJournaledOptions {
  dryRun: boolean;
  json: boolean;
  yes: boolean;
  /** Print each changed item's diff on a real run too (a dry run always does). */
  verbose: boolean;
  /** Items the command will go through (for the confirmation and the progress line). */
  total: number;
  /** The confirmation's question, asked on a terminal before a real run over more than 1 item. */
  question: string;
  /** What to run to finish after an interrupt. */
  again: string;
}

/**
 * The terminal side of a journaled command that is not a script run (`users import`, `radius
 * import`, `profiles attr`): the same confirmation, stop signals, per-item report and summary as
 * `run`. `commit` does the work with the control and item callback it is given. Returns the exit
 * code: 0, 1 when an item failed, 3 when interrupted.
 */
export async function reportJournaled(
  io: Io,
  options: ReportJournaledOptions,
  commit: (control: RunControl, onItem: (item: ItemResult) => void) => Promise<CommitPlannedResult>,
): Promise<{ exitCode: number; result: CommitPlannedResult }> {
  const { dryRun } = options;
  if (!dryRun && !options.yes && io.stdinIsTTY && io.stderrIsTTY && options.total > 1) {
    await confirmOrDecline(io, options.question);
  }
  const control = new RunControl();
  const reporter = new RunReporter(io, {
    json: options.json,
    dryRun,
    total: options.total,
    verbose: options.verbose,
  });
  const signals = watchStopSignals(
    io,
    control,
    (text) => reporter.note(text),
    () => options.again,
  );
  let result: CommitPlannedResult;
  try {
    result = await commit(control, (item) => reporter.item(item));
  } finally {
    signals.dispose();
  }
  const { runId, status, counts } = result;
  reporter.summary({ ...counts, run_id: runId, dry_run: dryRun, status });
  if (status === 'interrupted' && !options.json) {
    io.err(
      `usrun: run ${runId} interrupted; what is done stays (runs undo ${runId} takes it back); ${options.again} does the rest\n`,
    );
  }
  const exitCode = status === 'interrupted' ? 3 : counts.failed > 0 || counts.not_found > 0 ? 1 : 0;
  return { exitCode, result };
}
