import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { createAttrCipher } from '../../crypto/attr-cipher.js';
import { loadKey } from '../../crypto/load-key.js';
import { UsageError } from '../../errors.js';
import { getRun, isOrphaned } from '../../journal/read-runs.js';
import {
  countItems,
  doneSeqs,
  finishRun,
  reopenRun,
  sha256,
  startRun,
  type RunStatus,
} from '../../journal/run-record.js';
import { emptyCounts, type ItemResult, type RunCounts } from '../../model/item-result.js';
import { checkKeyNeededByOutcomes } from '../../run/check-key-needed.js';
import { runScript } from '../../run/run-script.js';
import { usingSandbox } from '../../sandbox/using-sandbox.js';
import { pickItems, type Selection } from '../../select/pick-items.js';
import type { SandboxOutcome } from '../../sandbox/protocol.js';
import type { StoreDriver } from '../../store/driver.js';
import { usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';
import { RunReporter } from '../run-reporter.js';
import { watchSigint } from '../watch-sigint.js';

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
}

/** The result of a run command, for tests and the exit code. */
export interface RunOutcome {
  runId: number | null;
  status: RunStatus | 'dry-run';
  counts: RunCounts;
  exitCode: number;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
}

/** What a run works from: a new selection, or the journaled one of the run being resumed. */
interface RunPlan {
  scriptPath: string;
  source: string;
  selection: Selection & { csv_sha256?: string };
  params: Record<string, string>;
  resume: { runId: number; done: Set<number>; counts: RunCounts } | null;
}

async function planRun(
  store: StoreDriver,
  scriptArg: string | undefined,
  options: RunOptions,
): Promise<RunPlan> {
  const selection: RunPlan['selection'] = {
    filter: options.filter,
    csv: options.csv,
    all: options.all,
    match: options.match,
    delimiter: options.delimiter,
    limit: options.limit,
  };
  if (options.resume === undefined) {
    if (scriptArg === undefined)
      throw new UsageError('missing the script: usrun run SCRIPT.js --filter … (or --resume RUN_ID)');
    if (selection.csv !== undefined) selection.csv_sha256 = sha256(readText(selection.csv, 'CSV file'));
    return {
      scriptPath: scriptArg,
      source: readText(scriptArg, 'script'),
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
  if (run.kind !== 'run')
    throw new UsageError(`run ${run.id} is an undo; run \`usrun runs undo ${run.undo_of}\` again instead`);
  if (run.status === 'completed') throw new UsageError(`run ${run.id} already completed: nothing to resume`);
  if (run.status === 'running' && !orphaned)
    throw new UsageError(`run ${run.id} is still running (pid ${run.pid} on ${run.host})`);
  const scriptPath = scriptArg ?? run.script_path ?? '';
  const source = readText(scriptPath, 'script');
  if (sha256(source) !== run.script_sha256 && !options.force) {
    throw new UsageError(
      `${scriptPath} changed since run ${run.id} started (sha256 differs): use --force to resume with the new text`,
    );
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
    scriptPath,
    source,
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
    const plan = await planRun(store, scriptArg, options);
    const done = plan.resume?.done;
    const picked = await pickItems(store, plan.selection, done ? { skip: (i) => done.has(i.seq) } : {});
    const total = done ? Math.max(0, picked.total - done.size) : picked.total;
    if (!dryRun && !options.yes && io.stdinIsTTY && io.stderrIsTTY && total > 1) {
      const ok = await io.confirm(
        `About to change up to ${total} users in ${store.location} with ${plan.scriptPath}. Continue? [y/N] `,
      );
      if (!ok) throw new UsageError('cancelled: nothing was changed');
    }
    const catalog = await store.db
      .selectFrom('profiles')
      .select(['id', 'short_name', 'name'])
      .orderBy('id')
      .execute();
    const setup = {
      source: plan.source,
      filename: basename(plan.scriptPath),
      params: plan.params,
      profiles: catalog,
      timeoutMs: options.timeout ?? 2000,
      memoryMb: options.memory ?? 128,
      maxLogLines: options.maxLogLines ?? 50,
    };
    // The sandbox compiles the script first: a syntax error ends here, before any journal row.
    return usingSandbox(setup, async (sandbox) => {
      const counts = plan.resume ? { ...plan.resume.counts } : emptyCounts();
      let runId: number | null = null;
      // The journal starts once the first batch has run, so a run refused then leaves no trace.
      const begin = async (outcomes: readonly SandboxOutcome[]) => {
        checkKeyNeededByOutcomes(outcomes, cipher !== null);
        if (plan.resume) {
          runId = plan.resume.runId;
          await reopenRun(store, runId);
        } else if (!dryRun) {
          const run = {
            kind: 'run' as const,
            scriptPath: plan.scriptPath,
            scriptText: plan.source,
            selection: plan.selection,
            params: plan.params,
          };
          runId = await startRun(store, run, counts);
        }
        return runId;
      };
      const reporter = new RunReporter(io, {
        json: options.json ?? false,
        dryRun,
        total,
        verbose: options.verbose ?? false,
      });
      const control = { stopRequested: false };
      const sigint = watchSigint(io, control, (text) => reporter.note(text));
      let status: RunStatus = 'completed';
      const loop = async () => {
        const items = runScript({
          store,
          sandbox,
          pages: picked.pages,
          profiles: new Map(catalog.map((p) => [p.id, p])),
          cipher,
          begin,
          maxErrors,
          control,
        });
        for await (const result of items) {
          count(counts, result);
          reporter.item(result);
        }
      };
      try {
        // A dry run takes the identical path inside one transaction that is rolled back.
        await (dryRun ? store.rehearse(loop) : loop());
        if (control.stopRequested) status = 'interrupted';
        else if (maxErrors !== undefined && counts.failed >= maxErrors) status = 'stopped';
      } catch (error) {
        status = 'interrupted';
        throw error;
      } finally {
        sigint.dispose();
        if (runId !== null) await finishRun(store, runId, status, counts);
      }
      reporter.summary({ ...counts, run_id: runId, dry_run: dryRun, status });
      if (status === 'interrupted' && runId !== null && !options.json) {
        io.err(
          `usrun: run ${runId} interrupted; continue it with: usrun run ${plan.scriptPath} --resume ${runId}${options.db ? ` --db ${options.db}` : ''}\n`,
        );
      } else if (status === 'stopped' && !options.json) {
        io.err(
          `usrun: stopped after ${counts.failed} failed user${counts.failed === 1 ? '' : 's'} (--max-errors); resume with --resume ${runId}\n`,
        );
      }
      const exitCode = status === 'interrupted' ? 3 : counts.failed > 0 || counts.not_found > 0 ? 1 : 0;
      return { runId, status: dryRun ? 'dry-run' : status, counts, exitCode };
    });
  });
}

function count(counts: RunCounts, result: ItemResult): void {
  counts.selected += 1;
  counts[result.status] += 1;
}
