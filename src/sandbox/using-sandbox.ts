import { UsageError } from '../errors.js';
import type { SandboxJob, SandboxOutcome, SandboxSetup } from './protocol.js';
import { SandboxSupervisor } from './sandbox-supervisor.js';
import { languageOf } from './script-languages.js';
import { ScriptSyntaxError } from './script-syntax-error.js';

export interface BatchOptions {
  /** Once aborted, the batch starts no further job; it resolves with the outcomes it has. */
  signal?: AbortSignal | undefined;
  /** Outcomes as they come, in job order, slice by slice (the promise still resolves with all). */
  onOutcomes?: ((outcomes: SandboxOutcome[]) => void) | undefined;
}

/** Runs the admin's script over batches of users, in an isolated child process. */
export interface Sandbox {
  /**
   * One outcome per job, in the same order. Never rejects for anything a script does: throws,
   * timeouts, the memory limit and a crashed sandbox process become `failed` outcomes of the job
   * that caused them. Calls may overlap; they are queued and run in call order. A batch whose
   * `signal` aborts runs no further job (none at all if it had not started).
   */
  runBatch(jobs: SandboxJob[], options?: BatchOptions): Promise<SandboxOutcome[]>;
}

/**
 * Starts the sandbox for a run, calls `fn` with it, and always kills it afterwards. The script is
 * prepared for its language (by `setup.filename`'s extension: a `.ts` file has its types
 * stripped, positions kept) and compiled before `fn` is called: a syntax error rejects with
 * `UsageError` (`file:line:col: SyntaxError: …`) before any user runs.
 */
export async function usingSandbox<T>(setup: SandboxSetup, fn: (sandbox: Sandbox) => Promise<T>): Promise<T> {
  if (!Number.isInteger(setup.timeoutMs) || setup.timeoutMs < 1) {
    throw new UsageError(`the timeout must be a whole number of milliseconds ≥ 1 (got ${setup.timeoutMs})`);
  }
  const language = languageOf(setup.filename);
  if (!Number.isInteger(setup.memoryMb) || setup.memoryMb < language.minMemoryMb) {
    throw new UsageError(
      `the memory limit must be a whole number of MB ≥ ${language.minMemoryMb}${language.minMemoryMb === 8 ? '' : ` for ${language.name} scripts`} (got ${setup.memoryMb})`,
    );
  }
  let source: string;
  try {
    source = language.prepare(setup.source, setup.filename);
  } catch (error) {
    if (error instanceof ScriptSyntaxError) throw new UsageError(error.message);
    throw error;
  }
  const sandbox = await SandboxSupervisor.start({ ...setup, source });
  try {
    return await fn(sandbox);
  } finally {
    sandbox.close();
  }
}
