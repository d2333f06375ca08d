import { InternalError } from '../errors.js';
import { BatchFailure } from './batch-failure.js';
import { decodeOutcomes } from './decode-outcomes.js';
import { encodeJobs } from './encode-jobs.js';
import { memoryMessage, sandboxDiedMessage, timeoutMessage, watchdogMessage } from './failure-messages.js';
import type { SandboxJob, SandboxOutcome, SandboxSetup } from './protocol.js';
import { SandboxProcess } from './sandbox-process.js';
import type { BatchOptions, Sandbox } from './using-sandbox.js';

/** A batch's outcomes come back at least this often (the slice ends after the job that passes it). */
const SLICE_MS = 100;

/**
 * The `Sandbox` of a run: queues batches, sends them to the sandbox process one at a time, streams
 * their outcomes back slice by slice, and turns every failure a script can cause into failed
 * outcomes. When a batch fails as a whole, its jobs without an outcome are re-run one at a time
 * (restarting the process when it died), so only the guilty job fails.
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

  runBatch(jobs: SandboxJob[], options: BatchOptions = {}): Promise<SandboxOutcome[]> {
    const result = this.runJobs(jobs, options);
    // A run that stops early (max errors, Ctrl-C, a database error) leaves the sandbox with a
    // batch it no longer awaits, which rejects once the sandbox is closed: that must not become
    // an unhandled rejection. A caller awaiting the batch still gets the error.
    result.catch(() => undefined);
    return result;
  }

  /** Kills the sandbox process; later batches reject. */
  close(): void {
    this.closed = true;
    this.proc?.kill();
  }

  private async runJobs(jobs: SandboxJob[], options: BatchOptions): Promise<SandboxOutcome[]> {
    if (jobs.length === 0) return [];
    const { signal, onOutcomes } = options;
    // Encoded now, while an earlier batch may still be running in the sandbox.
    const lines = encodeJobs(jobs);
    return this.enqueue(async () => {
      const got: SandboxOutcome[] = [];
      const deliver = (part: SandboxOutcome[]) => {
        got.push(...part);
        if (part.length > 0) onOutcomes?.(part);
      };
      // A batch still queued when its signal aborts never starts: no outcome, nothing ran.
      if (signal?.aborted) return got;
      let failure: BatchFailure | null = null;
      try {
        const proc = await this.process();
        const cancel = () => proc.cancel();
        signal?.addEventListener('abort', cancel);
        try {
          await proc.run(lines, jobs.length, this.setup.sliceMs ?? SLICE_MS, (json) => {
            if (failure) return;
            try {
              deliver(decodeOutcomes(json, jobs.slice(got.length), { prefix: true }));
            } catch (e) {
              if (!(e instanceof BatchFailure)) throw e;
              failure = e;
            }
          });
        } finally {
          signal?.removeEventListener('abort', cancel);
        }
      } catch (e) {
        if (this.closed) throw new InternalError('the sandbox was closed before this batch finished');
        if (!(e instanceof BatchFailure)) throw e;
        failure = e;
      }
      const rest = jobs.slice(got.length);
      // Cancelled: the jobs after the last slice never ran.
      if (rest.length === 0 || signal?.aborted) return got;
      // The batch failed as a whole (or its output could not be read): the jobs without an
      // outcome run one at a time, so only the guilty one fails.
      deliver(
        await this.runSingly(rest, failure ?? new BatchFailure('error', 'the batch ended early'), signal),
      );
      return got;
    });
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runSingly(
    jobs: SandboxJob[],
    failure: BatchFailure,
    signal: AbortSignal | undefined,
  ): Promise<SandboxOutcome[]> {
    const [only] = jobs;
    if (jobs.length === 1 && only) return [this.failed(only, failure)];
    const outcomes: SandboxOutcome[] = [];
    for (const job of jobs) {
      if (signal?.aborted) break;
      outcomes.push(await this.runOne(job));
    }
    return outcomes;
  }

  private async runOne(job: SandboxJob): Promise<SandboxOutcome> {
    try {
      const proc = await this.process();
      let answer = '[]';
      await proc.run(encodeJobs([job]), 1, 0, (json) => (answer = json));
      const [outcome] = decodeOutcomes(answer, [job]);
      return outcome as SandboxOutcome;
    } catch (e) {
      if (this.closed) throw new InternalError('the sandbox was closed before this batch finished');
      if (!(e instanceof BatchFailure)) throw e;
      return this.failed(job, e);
    }
  }

  private failed(job: SandboxJob, failure: BatchFailure): SandboxOutcome {
    return { seq: job.seq, status: 'failed', message: this.messageFor(failure), logs: [] };
  }

  private async process(): Promise<SandboxProcess> {
    if (this.closed) throw new InternalError('the sandbox is closed');
    if (!this.proc?.alive) {
      const proc = await SandboxProcess.start(this.setup);
      // Closed while the replacement started (a run that stopped on an error meanwhile): close()
      // could only kill the dead one, and this one's IPC channel would keep the CLI alive forever.
      if (this.closed) {
        proc.kill();
        throw new InternalError('the sandbox is closed');
      }
      this.proc = proc;
    }
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
