import { hostname } from 'node:os';
import { basename } from 'node:path';
import { createAttrCipher } from '../../crypto/attr-cipher.js';
import { loadKey } from '../../crypto/load-key.js';
import { ExitError, UsageError } from '../../errors.js';
import { getRun, isOrphaned, type RunInfo } from '../../journal/read-runs.js';
import {
  countItems,
  doneSeqs,
  finishRun,
  reopenRun,
  sha256,
  startRun,
  type RunStatus,
} from '../../journal/run-record.js';
import { emptyCounts, type RunCounts } from '../../model/item-result.js';
import { checkKeyNeededByOutcomes } from '../../run/check-key-needed.js';
import { RunControl } from '../../run/run-control.js';
import { runScript } from '../../run/run-script.js';
import { usingWriters, type Writer } from '../../store/writer.js';
import { usingSandbox } from '../../sandbox/using-sandbox.js';
import { pickItems, type Selection } from '../../select/pick-items.js';
import type { StoreDriver } from '../../store/driver.js';
import { loadProfileCatalog } from '../../store/profile-attributes.js';
import { scriptLabel } from '../../store/script-library.js';
import { usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';
import { loadScript, readText, type LoadedScript } from '../load-script.js';
import { RunReporter, type RunSummary } from '../run-reporter.js';
import { watchStopSignals } from '../watch-stop-signals.js';
import { confirmOrDecline } from '../confirm-or-decline.js';
import { selectionNotes } from '../selection-notes.js';

export interface RunOptions extends Selection {
  db?: string;
  param?: Record<string, string>;
  dryRun?: boolean;
  json?: boolean;
  timeout?: number;
  memory?: number;
  /** Console lines kept per user (`--max-log-lines`). */
  maxLogLines?: number;
  maxErrors?: number;
  failFast?: boolean;
  yes?: boolean;
  keyFile?: string;
  verbose?: boolean;
  resume?: number;
  force?: boolean;
  concurrency?: number;
  /** Run again for the users of this run's failed items (`--failed-of RUN_ID`), as a new run. */
  failedOf?: number;
}

/** Transactions in flight on a server database; SQLite always has one writer. */
const DEFAULT_CONCURRENCY = 4;

/** The result of a run command, for tests and the exit code. */
export interface RunOutcome {
  runId: number | null;
  status: RunStatus | 'dry-run';
  counts: RunCounts;
  exitCode: number;
}

/** What a run works from: a new selection, or the journaled one of the run being resumed. */
interface RunPlan {
  script: LoadedScript;
  selection: Selection & { csv_sha256?: string };
  params: Record<string, string>;
  resume: { runId: number; done: Set<number>; counts: RunCounts } | null;
}

/** The script a run ran, as its journal keeps it (text, path, saved name and version). */
function journaledScript(
  run: Pick<RunInfo, 'script_path' | 'script_name' | 'script_version'> & { script_text: string },
): LoadedScript {
  const path = run.script_path ?? 'script.js';
  return {
    source: run.script_text,
    path,
    filename: basename(path),
    saved:
      run.script_name !== null && run.script_version !== null
        ? { name: run.script_name, version: run.script_version }
        : null,
    label: run.script_name !== null ? scriptLabel(run.script_name, run.script_version ?? 0) : path,
  };
}

async function planRun(
  store: StoreDriver,
  scriptArg: string | undefined,
  options: RunOptions,
  io: Io,
): Promise<RunPlan> {
  const selection: RunPlan['selection'] = {
    filter: options.filter,
    csv: options.csv,
    all: options.all,
    match: options.match,
    delimiter: options.delimiter,
    limit: options.limit,
    ...(options.failedOf !== undefined ? { failed_of: options.failedOf } : {}),
  };
  if (options.resume === undefined && options.failedOf !== undefined && scriptArg === undefined) {
    // Without a script, the failed items run again with the script that failed them.
    const failed = await getRun(store, options.failedOf);
    return {
      script: journaledScript(failed),
      selection,
      params: options.param ?? failed.params,
      resume: null,
    };
  }
  if (options.resume === undefined) {
    if (scriptArg === undefined)
      throw new UsageError(
        'missing the script: usrun run SCRIPT.js|@NAME[@VERSION]|- --filter … (or --resume RUN_ID)',
      );
    if (selection.csv !== undefined) selection.csv_sha256 = sha256(readText(selection.csv, 'CSV file'));
    return {
      script: await loadScript(store, scriptArg, io),
      selection,
      params: options.param ?? {},
      resume: null,
    };
  }
  if (Object.values(selection).some((v) => v !== undefined) || options.param) {
    throw new UsageError(
      "--resume continues with the run's own selection and params: leave out --filter, --csv, --all, --param …",
    );
  }
  if (options.dryRun) throw new UsageError('--resume cannot be combined with --dry-run');
  const run = await getRun(store, options.resume);
  const orphaned = isOrphaned(run, hostname());
  if (run.kind === 'undo')
    throw new UsageError(`run ${run.id} is an undo; run \`usrun runs undo ${run.undo_of}\` again instead`);
  if (run.kind !== 'run')
    throw new UsageError(
      `run ${run.id} is a ${run.kind} run, not a script run; run that command again instead`,
    );
  if (run.status === 'completed') throw new UsageError(`run ${run.id} already completed: nothing to resume`);
  if (run.status === 'running' && !orphaned)
    throw new UsageError(`run ${run.id} is still running (pid ${run.pid} on ${run.host})`);
  // The journal holds the script that ran: a resume runs that text, from any directory (and
  // after its saved script was removed). A script named on the command line must be the same
  // text, unless --force says to go on with it.
  let script = journaledScript(run);
  if (scriptArg !== undefined) {
    const given = await loadScript(store, scriptArg, io);
    if (sha256(given.source) !== run.script_sha256 && !options.force) {
      throw new UsageError(
        `${given.label} is not the script run ${run.id} ran (sha256 differs): leave it out to resume with the journaled script, or use --force to resume with this one`,
      );
    }
    script = given;
  }
  const journaled = run.selection as RunPlan['selection'];
  if (journaled.csv !== undefined && journaled.csv_sha256 !== undefined) {
    if (sha256(readText(journaled.csv, 'CSV file')) !== journaled.csv_sha256 && !options.force) {
      throw new UsageError(
        `${journaled.csv} changed since run ${run.id} started: use --force to resume with it anyway`,
      );
    }
  }
  return {
    script,
    selection: journaled,
    params: run.params,
    resume: { runId: run.id, done: await doneSeqs(store, run.id), counts: await countItems(store, run.id) },
  };
}

/**
 * `usrun run SCRIPT.js`: picks users, runs the script for each in the sandbox, validates and
 * commits user by user (or rolls each back with --dry-run), journals the run, reports.
 * With `--resume RUN_ID`, continues an interrupted run, skipping its items already done.
 */
export async function runCommand(
  scriptArg: string | undefined,
  options: RunOptions,
  io: Io,
): Promise<RunOutcome> {
  const key = loadKey({ keyFile: options.keyFile, env: io.env });
  const cipher = key ? createAttrCipher(key) : null;
  const maxErrors = options.failFast ? 1 : options.maxErrors;
  const dryRun = options.dryRun ?? false;

  return usingStore({ location: options.db }, async (store) => {
    const plan = await planRun(store, scriptArg, options, io);
    const done = plan.resume?.done;
    const picked = await pickItems(store, plan.selection, done ? { skip: (i) => done.has(i.seq) } : {});
    const total = done ? Math.max(0, picked.total - done.size) : picked.total;
    for (const note of selectionNotes(picked, {
      limit: plan.selection.limit,
      csv: plan.selection.csv !== undefined,
    })) {
      io.err(`${note}\n`);
    }
    for (const warning of picked.warnings) io.err(`usrun: warning: ${warning}\n`);
    if (total === 0 && !plan.resume) {
      // Nothing to run: no journal entry, no sandbox; the admin is told, not left with a "run 7".
      const counts = emptyCounts();
      if (options.json) {
        const summary: RunSummary = {
          ...counts,
          run_id: null,
          dry_run: dryRun,
          status: 'nothing to do',
          seconds: 0,
          users_per_second: 0,
          no_effect: 0,
          groups: [],
          session_items: 0,
        };
        io.out(`${JSON.stringify({ summary })}\n`);
      } else {
        const why =
          plan.selection.failed_of !== undefined
            ? `run ${plan.selection.failed_of} has no failed items with a user`
            : 'the selection matched 0 users';
        io.out(`nothing to do: ${why}; nothing was run or written\n`);
      }
      return {
        runId: null,
        status: dryRun ? 'dry-run' : 'completed',
        counts,
        exitCode: 0,
      } satisfies RunOutcome;
    }
    if (!dryRun && !options.yes && io.stdinIsTTY && io.stderrIsTTY && total > 1) {
      await confirmOrDecline(
        io,
        `About to change up to ${total} users in ${store.location} with ${plan.script.label}. Continue? [y/N] `,
      );
    }
    const catalog = await loadProfileCatalog(store);
    const setup = {
      source: plan.script.source,
      filename: plan.script.filename,
      params: plan.params,
      profiles: catalog,
      timeoutMs: options.timeout ?? 2000,
      memoryMb: options.memory ?? 128,
      maxLogLines: options.maxLogLines ?? 50,
    };
    // The sandbox compiles the script first: a syntax error ends here, before any journal row.
    const lanes = options.concurrency ?? DEFAULT_CONCURRENCY;
    return usingSandbox(setup, (sandbox) =>
      usingWriters(store, { rehearsal: dryRun, count: lanes }, async (writers) => {
        const counts = plan.resume ? { ...plan.resume.counts } : emptyCounts();
        const control = new RunControl(maxErrors);
        let runId: number | null = null;
        // The run's row is committed before the first user's changes (so a kill at any moment
        // leaves a resumable run), but only once the first outcomes passed the key check.
        const begin = async () => {
          if (plan.resume) {
            runId = plan.resume.runId;
            await reopenRun(store, runId);
          } else if (!dryRun) {
            const run = {
              kind: 'run' as const,
              scriptPath: plan.script.path,
              scriptText: plan.script.source,
              script: plan.script.saved,
              selection: plan.selection,
              params: plan.params,
            };
            runId = await startRun(store, run, counts);
          }
          reporter.setRunId(runId);
          return runId;
        };
        const resumeHint = () =>
          // store.location: a server URL without its password, which is never printed.
          runId === null ? null : `usrun run --resume ${runId}${options.db ? ` --db ${store.location}` : ''}`;
        const reporter = new RunReporter(io, {
          json: options.json ?? false,
          dryRun,
          total,
          verbose: options.verbose ?? false,
          resumed: plan.resume !== null,
        });
        // Signals stay ours until the run is finished and reported: a second Ctrl-C until then
        // still exits 3 with the resume hint, however fast the first one stopped the run.
        const signals = watchStopSignals(io, control, (text) => reporter.note(text), resumeHint);
        try {
          try {
            const items = runScript({
              writers,
              reader: dryRun ? (writers[0] as Writer) : store,
              capabilities: store.capabilities,
              sandbox,
              pages: picked.pages,
              profiles: new Map(catalog.map((p) => [p.id, p])),
              cipher,
              checkFirst: (outcomes) => checkKeyNeededByOutcomes(outcomes, cipher !== null),
              begin,
              control,
              counts,
            });
            for await (const result of items) reporter.item(result);
          } catch (error) {
            if (runId !== null) await finishRun(store, runId, 'interrupted', counts).catch(() => undefined);
            if (store.capabilities.classifyError(error).kind === 'connection-lost') {
              // Every committed group stays; the open one died with the connection, all or nothing.
              const hint = resumeHint();
              io.err(
                `usrun: lost the connection to ${store.location}: ${error instanceof Error ? error.message : String(error)}\n` +
                  (hint
                    ? `usrun: what was committed stays; once the server is back, finish the run with: ${hint}\n`
                    : ''),
              );
              throw new ExitError(3);
            }
            throw error;
          }
          const status = control.status;
          if (runId !== null) await finishRun(store, runId, status, counts);
          reporter.summary({ ...counts, run_id: runId, dry_run: dryRun, status });
          if (status === 'interrupted' && runId !== null && !options.json) {
            io.err(`usrun: run ${runId} interrupted; continue it with: ${resumeHint()}\n`);
          } else if (status === 'stopped' && !options.json) {
            io.err(
              `usrun: stopped after ${control.failures} failed user${control.failures === 1 ? '' : 's'} (--max-errors); resume with: ${resumeHint()}\n`,
            );
          }
          const exitCode = status === 'interrupted' ? 3 : counts.failed > 0 || counts.not_found > 0 ? 1 : 0;
          return { runId, status: dryRun ? 'dry-run' : status, counts, exitCode } satisfies RunOutcome;
        } finally {
          signals.dispose();
        }
      }),
    );
  });
}
