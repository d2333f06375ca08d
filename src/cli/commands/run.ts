import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createAttrCipher } from '../../crypto/attr-cipher.js';
import { loadKey } from '../../crypto/load-key.js';
import { UsageError } from '../../errors.js';
import { finishRun, startRun, type RunStatus } from '../../journal/run-record.js';
import { emptyCounts, type ItemResult } from '../../run/item-result.js';
import { runScript } from '../../run/run-script.js';
import { usingSandbox } from '../../sandbox/using-sandbox.js';
import { pickItems, type Selection } from '../../select/pick-items.js';
import type { StoreDriver } from '../../store/driver.js';
import { usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';
import { RunReporter } from '../run-reporter.js';

export interface RunOptions extends Selection {
  db?: string;
  param?: Record<string, string>;
  dryRun?: boolean;
  json?: boolean;
  timeout?: number;
  memory?: number;
  maxErrors?: number;
  failFast?: boolean;
  yes?: boolean;
  keyFile?: string;
  verbose?: boolean;
}

/** The result of a run command, for tests and the exit code. */
export interface RunOutcome {
  runId: number | null;
  status: RunStatus | 'dry-run';
  counts: ReturnType<typeof emptyCounts>;
  exitCode: number;
}

function readScript(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read script ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

/** Refuses, before any user runs, a run that will need the attribute key and has none. */
async function checkKeyNeeded(store: StoreDriver, source: string, hasKey: boolean): Promise<void> {
  if (hasKey) return;
  const hint = 'set USRUN_KEY (32 bytes, base64 or hex) or pass --key-file';
  if (/\bencrypt\b/.test(source)) throw new UsageError(`this script encrypts attributes and no key was given: ${hint}`);
  if (/\.attr\s*\.\s*get(_many)?\s*\(/.test(source)) {
    const encrypted = await store.db.selectFrom('user_attrs').select('user_id').where('is_encrypted', '=', 1).limit(1).executeTakeFirst();
    if (encrypted) throw new UsageError(`this script reads attributes, some are encrypted, and no key was given: ${hint}`);
  }
}

/**
 * `usrun run SCRIPT.js`: picks users, runs the script for each in the sandbox, validates and
 * commits user by user (or rolls each back with --dry-run), journals the run, reports.
 */
export async function runCommand(scriptPath: string, options: RunOptions, io: Io): Promise<RunOutcome> {
  const source = readScript(scriptPath);
  const key = loadKey({ keyFile: options.keyFile, env: io.env });
  const cipher = key ? createAttrCipher(key) : null;
  const selection: Selection = {
    filter: options.filter,
    csv: options.csv,
    all: options.all,
    match: options.match,
    delimiter: options.delimiter,
    limit: options.limit,
  };
  const maxErrors = options.failFast ? 1 : options.maxErrors;
  const dryRun = options.dryRun ?? false;
  const params = options.param ?? {};

  return usingStore({ location: options.db }, async (store) => {
    await checkKeyNeeded(store, source, cipher !== null);
    const picked = await pickItems(store, selection);
    if (!dryRun && !options.yes && io.stdinIsTTY && io.stderrIsTTY && picked.total > 1) {
      const ok = await io.confirm(`About to change up to ${picked.total} users in ${store.location} with ${scriptPath}. Continue? [y/N] `);
      if (!ok) throw new UsageError('cancelled: nothing was changed');
    }
    const catalog = await store.db.selectFrom('profiles').select(['id', 'short_name', 'name']).orderBy('id').execute();
    const setup = {
      source,
      filename: basename(scriptPath),
      params,
      profiles: catalog,
      timeoutMs: options.timeout ?? 2000,
      memoryMb: options.memory ?? 128,
      maxLogLines: 50,
    };
    return usingSandbox(setup, async (sandbox) => {
      const counts = emptyCounts();
      const runId = dryRun
        ? null
        : await startRun(store, { kind: 'run', scriptPath, scriptText: source, selection, params }, counts);
      const reporter = new RunReporter(io, { json: options.json ?? false, dryRun, total: picked.total, verbose: options.verbose ?? false });
      const control = { stopRequested: false };
      const onSigint = () => {
        if (control.stopRequested) {
          // Second Ctrl-C: leave at once. No transaction is open between two statements of
          // better-sqlite3's synchronous transactions, so nothing half-written remains; the run
          // stays `running` and `--resume` picks it up.
          io.err('\nusrun: aborted\n');
          process.exit(3);
        }
        control.stopRequested = true;
        reporter.note('\nusrun: stopping after the current user (Ctrl-C again to abort now)\n');
      };
      process.on('SIGINT', onSigint);
      const started = Date.now();
      let status: RunStatus = 'completed';
      try {
        const items = runScript({
          store,
          sandbox,
          pages: picked.pages,
          profiles: new Map(catalog.map((p) => [p.id, p])),
          cipher,
          dryRun,
          runId,
          maxErrors,
          control,
        });
        for await (const result of items) {
          count(counts, result);
          reporter.item(result);
        }
        if (control.stopRequested) status = 'interrupted';
        else if (maxErrors !== undefined && counts.failed >= maxErrors) status = 'stopped';
      } catch (error) {
        status = 'interrupted';
        throw error;
      } finally {
        process.off('SIGINT', onSigint);
        if (runId !== null) await finishRun(store, runId, status, counts);
      }
      const seconds = (Date.now() - started) / 1000;
      reporter.summary({
        ...counts,
        seconds,
        users_per_second: seconds > 0 ? counts.selected / seconds : 0,
        run_id: runId,
        dry_run: dryRun,
        status,
      });
      if (status === 'interrupted' && runId !== null && !options.json) {
        io.err(`usrun: run ${runId} interrupted; continue it with: usrun run ${scriptPath} --resume ${runId}${options.db ? ` --db ${options.db}` : ''}\n`);
      } else if (status === 'stopped' && !options.json) {
        io.err(`usrun: stopped after ${counts.failed} failed user${counts.failed === 1 ? '' : 's'} (--max-errors)\n`);
      }
      const exitCode = status === 'interrupted' ? 3 : counts.failed > 0 || counts.not_found > 0 ? 1 : 0;
      return { runId, status: dryRun ? 'dry-run' : status, counts, exitCode };
    });
  });
}

function count(counts: ReturnType<typeof emptyCounts>, result: ItemResult): void {
  counts.selected += 1;
  counts[result.status] += 1;
}
