import { InternalError } from '../errors.js';
import { BatchFailure } from './batch-failure.js';
import { decodeOutcomes } from './decode-outcomes.js';
import { encodeJobs } from './encode-jobs.js';
import { memoryMessage, sandboxDiedMessage, timeoutMessage, watchdogMessage } from './failure-messages.js';
import type { SandboxJob, SandboxOutcome, SandboxSetup } from './protocol.js';
import { SandboxProcess } from './sandbox-process.js';
import type { Sandbox } from './using-sandbox.js';

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
    const result = this.runJobs(jobs);
    // A run that stops early (max errors, Ctrl-C, a database error) leaves the sandbox with a
    // batch it no longer awaits, which rejects once the sandbox is closed: that must not become
    // an unhandled rejection. A caller awaiting the batch still gets the error.
    result.catch(() => undefined);
    return result;
  }

  private async runJobs(jobs: SandboxJob[]): Promise<SandboxOutcome[]> {
    if (jobs.length === 0) return [];
    // Encoded now, while an earlier batch may still be running in the sandbox; decoded after the
    // process has been handed the next batch.
    const lines = encodeJobs(jobs);
    const answer = await this.enqueue(() => this.exchange(jobs, lines));
    if (typeof answer !== 'string') return answer;
    try {
      return decodeOutcomes(answer, jobs);
    } catch (e) {
      if (!(e instanceof BatchFailure)) throw e;
      return this.enqueue(() => this.runSingly(jobs, e));
    }
  }

  /** Kills the sandbox process; later batches reject. */
  close(): void {
    this.closed = true;
    this.proc?.kill();
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The batch's outcomes as the sandbox's JSON text or, when it failed as a whole, as outcomes. */
  private async exchange(jobs: SandboxJob[], lines: string): Promise<string | SandboxOutcome[]> {
    try {
      const proc = await this.process();
      return await proc.run(lines, jobs.length);
    } catch (e) {
      if (this.closed) throw new InternalError('the sandbox was closed before this batch finished');
      if (!(e instanceof BatchFailure)) throw e;
      return this.runSingly(jobs, e);
    }
  }

  private async runSingly(jobs: SandboxJob[], failure: BatchFailure): Promise<SandboxOutcome[]> {
    const [only] = jobs;
    if (jobs.length === 1 && only)
      return [{ seq: only.seq, status: 'failed', message: this.messageFor(failure), logs: [] }];
    const outcomes: SandboxOutcome[] = [];
    for (const job of jobs) {
      const answer = await this.exchange([job], encodeJobs([job]));
      if (typeof answer !== 'string') outcomes.push(...answer);
      else {
        try {
          outcomes.push(...decodeOutcomes(answer, [job]));
        } catch (e) {
          if (!(e instanceof BatchFailure)) throw e;
          outcomes.push(...(await this.runSingly([job], e)));
        }
      }
    }
    return outcomes;
  }

  private async process(): Promise<SandboxProcess> {
    if (this.closed) throw new InternalError('the sandbox is closed');
    if (!this.proc?.alive) this.proc = await SandboxProcess.start(this.setup);
    return this.proc;
  }

  private messageFor(failure: BatchFailure): string {
    const doing = failure.doing ?? 'running the script';
    switch (failure.reason) {
      case 'timeout':
        return failure.deadlineMs === undefined
          ? timeoutMessage(this.setup.timeoutMs)
          : watchdogMessage(doing, failure.deadlineMs);
      case 'memory':
        return memoryMessage(this.setup.memoryMb);
      case 'died':
        return sandboxDiedMessage(doing, failure.message);
      case 'error':
        return `sandbox error: ${failure.message}`;
    }
  }
}
