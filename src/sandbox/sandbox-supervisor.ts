import { InternalError } from '../errors.js';
import { BatchFailure } from './batch-failure.js';
import type { SandboxJob, SandboxOutcome, SandboxSetup } from './protocol.js';
import { SandboxProcess } from './sandbox-process.js';
import type { Sandbox } from './using-sandbox.js';

const STATUSES = new Set(['done', 'skipped', 'failed']);

/**
 * The `Sandbox` of a run: queues batches, sends them to the sandbox process one at a time, and
 * turns every failure a script can cause into failed outcomes. A batch that fails as a whole is
 * re-run one job at a time (restarting the process when it died), so only the guilty job fails.
 */
export class SandboxSupervisor implements Sandbox {
  private proc: SandboxProcess | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(private readonly setup: SandboxSetup) {}

  /** Starts the sandbox process; a script syntax error rejects with `UsageError`. */
  static async start(setup: SandboxSetup): Promise<SandboxSupervisor> {
    const supervisor = new SandboxSupervisor(setup);
    supervisor.proc = await SandboxProcess.start(setup);
    return supervisor;
  }

  runBatch(jobs: SandboxJob[]): Promise<SandboxOutcome[]> {
    // Serialized now, while an earlier batch may still be running in the sandbox.
    const json = JSON.stringify(jobs);
    const result = this.queue.then(() => this.runJobs(jobs, json));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Kills the sandbox process; later batches reject. */
  close(): void {
    this.closed = true;
    this.proc?.kill();
  }

  private async runJobs(jobs: SandboxJob[], json: string): Promise<SandboxOutcome[]> {
    if (jobs.length === 0) return [];
    try {
      const proc = await this.process();
      return parseOutcomes(await proc.run(json), jobs);
    } catch (e) {
      if (!(e instanceof BatchFailure) || this.closed) throw e;
      const [only] = jobs;
      if (jobs.length === 1 && only) return [{ seq: only.seq, status: 'failed', message: this.messageFor(e), logs: [] }];
      const outcomes: SandboxOutcome[] = [];
      for (const job of jobs) outcomes.push(...(await this.runJobs([job], JSON.stringify([job]))));
      return outcomes;
    }
  }

  private async process(): Promise<SandboxProcess> {
    if (this.closed) throw new InternalError('the sandbox is closed');
    if (!this.proc?.alive) this.proc = await SandboxProcess.start(this.setup);
    return this.proc;
  }

  private messageFor(failure: BatchFailure): string {
    switch (failure.reason) {
      case 'timeout':
        return `script timed out after ${this.setup.timeoutMs} ms`;
      case 'memory':
        return `script exceeded the memory limit of ${this.setup.memoryMb} MB`;
      case 'died':
        return `sandbox process died (${failure.message})`;
      case 'error':
        return `sandbox error: ${failure.message}`;
    }
  }
}

/** The batch's outcomes, checked to be one per job in order; anything else is a failed batch. */
function parseOutcomes(json: string, jobs: SandboxJob[]): SandboxOutcome[] {
  let outcomes: unknown;
  try {
    outcomes = JSON.parse(json);
  } catch {
    throw new BatchFailure('error', 'the sandbox returned malformed outcomes');
  }
  const ok =
    Array.isArray(outcomes) &&
    outcomes.length === jobs.length &&
    outcomes.every(
      (o: Partial<SandboxOutcome> | null, i) =>
        typeof o === 'object' && o !== null && o.seq === jobs[i]?.seq && STATUSES.has(o.status ?? '') && Array.isArray(o.logs),
    );
  if (!ok) throw new BatchFailure('error', 'the sandbox returned outcomes that do not match the batch');
  return outcomes as SandboxOutcome[];
}
