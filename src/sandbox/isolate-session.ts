import { BatchFailure } from './batch-failure.js';
import { IsolateRunner } from './isolate-runner.js';
import type { SandboxSetup } from './protocol.js';
import { JOB_SEQ } from './wire-format.js';

/** How often the host hears that calls into the isolate go on (its watchdog's deadline). */
const ANNOUNCE_EVERY_MS = 250;

/**
 * Announces a call into the isolate of up to `ms`, doing `what` (`running the script`): the
 * host's watchdog kills the process when it overruns that by more than its grace.
 */
export type Announce = (ms: number, what: string) => void;

/**
 * The isolate side of a run, in the sandbox process (or in a test): runs batches one user at a
 * time in an `IsolateRunner`, replacing the isolate after a job hit the memory limit or its
 * timeout, and counts the run's console output.
 */
export class IsolateSession {
  private announced = 0;
  private lastWhat = '';
  /** Console text of the outcomes so far: what counts against the run's cap. */
  private runLogChars = 0;

  private constructor(
    private readonly setup: SandboxSetup,
    private readonly announceTo: Announce,
    private runner: IsolateRunner | undefined,
  ) {}

  /** Compiles the script; a syntax error throws `ScriptSyntaxError`. */
  static async start(setup: SandboxSetup, announce: Announce = () => undefined): Promise<IsolateSession> {
    return new IsolateSession(setup, announce, await IsolateRunner.create(setup));
  }

  /** Bytes the isolate holds outside its V8 heap (strings handed in): what its collector does not see. */
  externalBytes(): number {
    return this.runner?.externalBytes() ?? 0;
  }

  /** Disposes the isolate (a later batch makes a new one). */
  dispose(): void {
    this.runner?.dispose();
  }

  /**
   * Tells the host a call of up to `ms` is about to start, doing `what`, unless it was told the
   * same within ANNOUNCE_EVERY_MS: its deadline (announcement + ms + a grace of more than a
   * second) then still covers the call.
   */
  private announce(ms: number, what: string, force = false): void {
    const now = Date.now();
    if (!force && what === this.lastWhat && now - this.announced < ANNOUNCE_EVERY_MS) return;
    this.announced = now;
    this.lastWhat = what;
    this.announceTo(ms, what);
  }

  /**
   * Runs the jobs of a batch (one per line, see encodeJobs), one user at a time, handing their
   * outcomes to `emit` as JSON arrays, in order, a slice at a time: a slice ends after the job
   * that passes `sliceMs` (0: one slice for the whole batch). Between slices the event loop runs,
   * so a cancel from the host is seen, and `cancelled()` ends the batch: no further job starts.
   * A job that hit the memory limit or its timeout fails alone; the isolate is then replaced (a
   * fresh one, loaded with the same batch) before the next job.
   */
  async runBatch(
    lines: string,
    count: number,
    sliceMs: number,
    emit: (json: string) => void,
    cancelled: () => boolean,
  ): Promise<void> {
    const s = this.setup;
    let split: string[] | undefined;
    const seqOf = (i: number): number => {
      split ??= lines.split('\n');
      return Number((JSON.parse(split[i] ?? '[]') as unknown[])[JOB_SEQ]);
    };
    let out = '';
    let sliceStart = Date.now();
    let loaded = false;
    this.announce(s.timeoutMs, 'starting a batch', true);
    for (let i = 0; i < count; i++) {
      let runner = this.runner;
      if (!runner || runner.disposed) {
        this.announce(Math.max(s.timeoutMs, 10_000), 'starting a fresh isolate', true);
        // The last isolate is gone: start clean (globals set by scripts are gone).
        runner = this.runner = await IsolateRunner.create(s);
        loaded = false;
      }
      if (!loaded) {
        if (runner.load(lines) !== count)
          throw new BatchFailure('error', 'the sandbox read a different number of jobs');
        loaded = true;
      }
      this.announce(s.timeoutMs, 'running the script');
      const result = runner.runJob(i, () => seqOf(i), this.runLogChars);
      // The outcome's length bounds the console text in it (and costs about as much to keep).
      this.runLogChars += result.text.length;
      out += (out === '' ? '' : ',') + result.text;
      if (result.broken) runner.dispose();
      if (sliceMs > 0 && i + 1 < count && Date.now() - sliceStart >= sliceMs) {
        emit(`[${out}]`);
        out = '';
        // Let the host's messages in (a cancel), then honour them.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (cancelled()) return;
        sliceStart = Date.now();
      }
    }
    emit(`[${out}]`);
  }
}
