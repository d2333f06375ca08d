import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAttrCipher } from '../../crypto/attr-cipher.js';
import { loadKey } from '../../crypto/load-key.js';
import { ExitError, UsageError } from '../../errors.js';
import { getRun, isOrphaned, type RunInfo } from '../../journal/read-runs.js';
import {
  addWorker,
  chunkCount,
  chunksOfStartingRun,
  createChunks,
  isLive,
  releaseGoneWorkers,
  runWorkers,
  type WorkerIdentity,
} from '../../journal/run-chunks.js';
import {
  countItems,
  doneSeqs,
  finishRun,
  markInterrupted,
  reopenRun,
  sha256,
  startRun,
  type RunStatus,
} from '../../journal/run-record.js';
import { emptyCounts, type RunCounts } from '../../model/item-result.js';
import type { PickedItem } from '../../model/picked-item.js';
import { checkKeyNeededByOutcomes } from '../../run/check-key-needed.js';
import { RunControl } from '../../run/run-control.js';
import { ChunkFeed, runInChunks } from '../../run/chunk-feed.js';
import { runScript } from '../../run/run-script.js';
import { StaleRowError, usingWriters, type Writer } from '../../store/writer.js';
import { usingSandbox } from '../../sandbox/using-sandbox.js';
import { pickItems, planChunks, type Selection } from '../../select/pick-items.js';
import type { SeqRange } from '../../model/seq-range.js';
import { withArticle } from '../../model/with-article.js';
import type { StoreDriver } from '../../store/driver.js';
import { privilegeProblem } from '../../store/privilege-problem.js';
import { loadProfileCatalog } from '../../store/profile-attributes.js';
import { scriptLabel } from '../../store/script-library.js';
import { usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';
import { loadScript, readText, type LoadedScript } from '../load-script.js';
import { lostConnection } from '../lost-connection.js';
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
  /** Work on a run another process started (`--join RUN_ID`): claim its chunks. */
  join?: number;
  /** Items per chunk of a run on a server database (`--chunk-size`). */
  chunkSize?: number;
  /** Seconds a claim on a chunk lasts without renewal (`--lease`). */
  lease?: number;
}

/** Transactions in flight on a server database; SQLite always has one writer. */
const DEFAULT_CONCURRENCY = 4;
/**
 * Items per chunk unless --chunk-size says: a 40th of the selection, so that workers joining
 * share out even a small run of a slow script and end within a 40th of the run of each other;
 * at least 10 items and at most 1,000, so that claims (a transaction each) cost next to nothing.
 */
function defaultChunkSize(selected: number): number {
  return Math.min(1000, Math.max(10, Math.ceil(selected / 40)));
}
/** A worker renews its leases every third of this; a dead one's chunks wait this long. */
const DEFAULT_LEASE_S = 30;

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
  /** A run split into chunks that this process joins (or resumes): it claims chunks. */
  shared: { runId: number; reopen: boolean } | null;
}

const JOIN_NEEDS_SERVER =
  'a run is shared between workers on a PostgreSQL or MariaDB/MySQL database only: workers claim its chunks with SELECT … FOR UPDATE SKIP LOCKED, which SQLite does not have (and a SQLite file takes one writer at a time, so a second process would only wait)';

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
    // Journaled absolute: a resume, or a worker joining, may start in another directory.
    csv: options.csv === undefined ? undefined : resolve(options.csv),
    all: options.all,
    match: options.match,
    delimiter: options.delimiter,
    limit: options.limit,
    ...(options.failedOf !== undefined ? { failed_of: options.failedOf } : {}),
  };
  if (options.join !== undefined && options.resume !== undefined) {
    throw new UsageError('--join and --resume: give one of them');
  }
  const again = options.join ?? options.resume;
  if (options.join !== undefined && store.capabilities.skipLockedSql === null) {
    throw new UsageError(`--join: ${JOIN_NEEDS_SERVER}`);
  }
  if (again === undefined && options.failedOf !== undefined && scriptArg === undefined) {
    // Without a script, the failed items run again with the script that failed them.
    const failed = await getRun(store, options.failedOf);
    return {
      script: journaledScript(failed),
      selection,
      params: options.param ?? failed.params,
      resume: null,
      shared: null,
    };
  }
  if (again === undefined) {
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
      shared: null,
    };
  }
  const flag = options.join !== undefined ? '--join' : '--resume';
  if (Object.values(selection).some((v) => v !== undefined) || options.param) {
    throw new UsageError(
      `${flag} continues with the run's own selection and params: leave out --filter, --csv, --all, --param …`,
    );
  }
  if (options.dryRun) throw new UsageError(`${flag} cannot be combined with --dry-run`);
  const run = await getRun(store, again);
  const orphaned = isOrphaned(run, hostname());
  if (run.kind === 'undo')
    throw new UsageError(`run ${run.id} is an undo; run \`usrun runs undo ${run.undo_of}\` again instead`);
  if (run.kind !== 'run')
    throw new UsageError(
      `run ${run.id} is ${withArticle(run.kind)} run, not a script run; run that command again instead`,
    );
  const what = options.join !== undefined ? 'join' : 'resume';
  if (run.status === 'completed') throw new UsageError(`run ${run.id} already completed: nothing to ${what}`);
  const chunks =
    store.capabilities.skipLockedSql === null
      ? 0
      : options.join !== undefined && run.status === 'running' && !orphaned
        ? await chunksOfStartingRun(store, run.id, (ms) => sleep(ms))
        : await chunkCount(store, run.id);
  const chunked = chunks > 0;
  if (options.join !== undefined && !chunked) {
    throw new UsageError(
      `run ${run.id} was not split into chunks (it ran before this database could share runs, or it picked nothing): resume it with --resume ${run.id} instead`,
    );
  }
  if (chunked && options.resume !== undefined) {
    const live = (await runWorkers(store, run.id)).filter((w) => isLive(w, Date.now()));
    if (live.length > 0) {
      const who = live.map((w) => `pid ${w.pid} on ${w.host}`).join(', ');
      throw new UsageError(
        `run ${run.id} is still running (${who}): add a worker with --join ${run.id}, or resume it once they have stopped`,
      );
    }
  } else if (!chunked && run.status === 'running' && !orphaned) {
    throw new UsageError(`run ${run.id} is still running (pid ${run.pid} on ${run.host})`);
  }
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
    resume: chunked
      ? null
      : { runId: run.id, done: await doneSeqs(store, run.id), counts: await countItems(store, run.id) },
    shared: chunked ? { runId: run.id, reopen: run.status !== 'running' } : null,
  };
}

/** Runs `fn` once; later calls get the first call's promise. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= fn());
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
    // On a server database a new run is cut into chunks that other processes may claim (--join).
    const chunks: SeqRange[] =
      plan.resume || plan.shared || dryRun || store.capabilities.skipLockedSql === null
        ? []
        : await planChunks(store, plan.selection, options.chunkSize ?? defaultChunkSize(picked.total));
    const journaled = plan.shared ? (await countItems(store, plan.shared.runId)).selected : 0;
    const total = done ? Math.max(0, picked.total - done.size) : Math.max(0, picked.total - journaled);
    for (const note of selectionNotes(picked, {
      limit: plan.selection.limit,
      csv: plan.selection.csv !== undefined,
    })) {
      io.err(`${note}\n`);
    }
    for (const warning of picked.warnings) io.err(`usrun: warning: ${warning}\n`);
    if (total === 0 && !plan.resume && !plan.shared) {
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
        const me: WorkerIdentity = {
          worker: randomBytes(8).toString('hex'),
          host: hostname(),
          pid: process.pid,
          leaseMs: (options.lease ?? DEFAULT_LEASE_S) * 1000,
        };
        // The run's row is committed before the first user's changes (so a kill at any moment
        // leaves a resumable run), but only once the first outcomes passed the key check. A new
        // shared run records its chunks with it, the first one this worker's.
        let begun = false;
        const begin = once(async () => {
          begun = true;
          if (plan.resume || plan.shared) {
            runId = (plan.resume ?? plan.shared)!.runId;
            if (plan.resume || plan.shared?.reopen) await reopenRun(store, runId);
            if (plan.shared) {
              await releaseGoneWorkers(store, runId, Date.now());
              await addWorker(store, runId, me, Date.now());
            }
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
            if (chunks.length > 0) await createChunks(store, runId, chunks, me, Date.now());
          }
          reporter.setRunId(runId);
          return runId;
        });
        const feed =
          plan.shared || chunks.length > 0
            ? new ChunkFeed({
                store,
                selection: plan.selection,
                me,
                first: chunks[0] ?? null,
                begin: async () => (await begin()) as number,
                begun: () => begun,
                control,
                now: Date.now,
                sleep: (ms) => sleep(ms),
              })
            : null;
        const resumeHint = () =>
          // store.location: a server URL without its password, which is never printed.
          runId === null ? null : `usrun run --resume ${runId}${options.db ? ` --db ${store.location}` : ''}`;
        const reporter = new RunReporter(io, {
          json: options.json ?? false,
          dryRun,
          total,
          verbose: options.verbose ?? false,
          resumed: plan.resume !== null || plan.shared !== null,
        });
        // Signals stay ours until the run is finished and reported: a second Ctrl-C until then
        // still exits 3 with the resume hint, however fast the first one stopped the run.
        const signals = watchStopSignals(io, control, (text) => reporter.note(text), resumeHint);
        try {
          try {
            const run = (pages: AsyncIterable<PickedItem[]>) =>
              runScript({
                writers,
                reader: dryRun ? (writers[0] as Writer) : store,
                capabilities: store.capabilities,
                sandbox,
                pages,
                profiles: new Map(catalog.map((p) => [p.id, p])),
                cipher,
                checkFirst: (outcomes) => checkKeyNeededByOutcomes(outcomes, cipher !== null),
                begin,
                control,
                counts,
                ...(feed ? { groupStatements: feed.groupStatements } : {}),
              });
            const items = feed ? runInChunks(feed, run) : run(picked.pages);
            for await (const result of items) reporter.item(result);
          } catch (error) {
            if (feed) await feed.finish('interrupted').catch(() => undefined);
            else if (runId !== null) await markInterrupted(store, runId);
            if (error instanceof StaleRowError && feed) {
              // A group's proof that its chunks were still this worker's failed: another worker
              // took one over (this one had not renewed its lease in time), so the group rolled back.
              io.err(
                `usrun: this worker lost a chunk of run ${runId} to another worker (its lease of ${me.leaseMs / 1000} s ran out before it was renewed); what it had not committed is that worker's now\n`,
              );
              throw new ExitError(3);
            }
            const hint = resumeHint();
            const denied = hint ? privilegeProblem(error, store.capabilities, store.location, 'use') : null;
            if (denied) {
              // The run's row is there: a message and exit 3, as for any interrupted run. What a
              // group had not committed rolled back; the committed groups stay, each whole.
              io.err(
                `usrun: ${denied.message}\nusrun: run ${runId} interrupted; what was committed stays; once the user has them, finish the run with: ${hint}\n`,
              );
              throw new ExitError(3);
            }
            throw (
              lostConnection(
                error,
                store,
                io,
                hint ? { what: 'finish the run with', command: hint } : null,
              ) ?? error
            );
          }
          const status: RunStatus = control.status;
          let reported = counts;
          // What the summary says of the run: a shared run this worker left goes on in others.
          let shown: string = status;
          if (feed) {
            // A shared run: the summary is the run's (every worker's items), as the journal has it.
            const end = await feed.finish(status);
            if (end) reported = end.counts;
            if (end?.status === 'running') {
              shown = 'running';
              if (!options.json) {
                io.err(`usrun: this worker left run ${runId}; other workers are still at it\n`);
              }
            }
          } else if (runId !== null) await finishRun(store, runId, status, counts);
          reporter.summary({ ...reported, run_id: runId, dry_run: dryRun, status: shown });
          if (status === 'interrupted' && shown !== 'running' && runId !== null && !options.json) {
            io.err(`usrun: run ${runId} interrupted; continue it with: ${resumeHint()}\n`);
          } else if (status === 'stopped' && !options.json) {
            io.err(
              `usrun: stopped after ${control.failures} failed user${control.failures === 1 ? '' : 's'} (--max-errors); resume with: ${resumeHint()}\n`,
            );
          }
          const exitCode =
            status === 'interrupted' ? 3 : reported.failed > 0 || reported.not_found > 0 ? 1 : 0;
          return {
            runId,
            status: dryRun ? 'dry-run' : status,
            counts: reported,
            exitCode,
          } satisfies RunOutcome;
        } finally {
          signals.dispose();
        }
      }),
    );
  });
}
