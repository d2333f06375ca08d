import { UsageError } from '../errors.js';
import type { SandboxJob, SandboxOutcome, SandboxSetup } from './protocol.js';
import { SandboxSupervisor } from './sandbox-supervisor.js';

/** Runs the admin's script over batches of users, in an isolated child process. */
export interface Sandbox {
  /**
   * One outcome per job, in the same order. Never rejects for anything a script does: throws,
   * timeouts, the memory limit and a crashed sandbox process become `failed` outcomes of the job
   * that caused them. Calls may overlap; they are queued and run in call order. A batch whose
   * `signal` has aborted by the time its turn comes does not run and resolves with no outcomes.
   */
  runBatch(jobs: SandboxJob[], signal?: AbortSignal): Promise<SandboxOutcome[]>;
}

/**
 * Starts the sandbox for a run, calls `fn` with it, and always kills it afterwards. The script is
 * compiled before `fn` is called: a syntax error rejects with `UsageError`
 * (`file:line:col: SyntaxError: …`) before any user runs.
 */
export async function usingSandbox<T>(setup: SandboxSetup, fn: (sandbox: Sandbox) => Promise<T>): Promise<T> {
  if (!Number.isInteger(setup.timeoutMs) || setup.timeoutMs < 1) {
    throw new UsageError(`the timeout must be a whole number of milliseconds ≥ 1 (got ${setup.timeoutMs})`);
  }
  // isolated-vm's minimum.
  if (!Number.isInteger(setup.memoryMb) || setup.memoryMb < 8) {
    throw new UsageError(`the memory limit must be a whole number of MB ≥ 8 (got ${setup.memoryMb})`);
  }
  const sandbox = await SandboxSupervisor.start(setup);
  try {
    return await fn(sandbox);
  } finally {
    sandbox.close();
  }
}
