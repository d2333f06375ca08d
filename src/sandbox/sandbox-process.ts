import { type ChildProcess, fork } from 'node:child_process';
import { InternalError, UsageError } from '../errors.js';
import { BatchFailure } from './batch-failure.js';
import type { ChildMessage, HostMessage } from './child-messages.js';
import type { SandboxSetup } from './protocol.js';
import { resolveChildPath } from './resolve-child-path.js';

/** Longest wait for the process to start and compile the script, or to start on a batch. */
const STARTUP_MS = 30_000;
/** Kept of the process's stderr, to say why it died. */
const STDERR_TAIL = 8_192;

interface Pending {
  id: number;
  slice: (json: string) => void;
  resolve: () => void;
  reject: (failure: BatchFailure) => void;
}

/**
 * One forked sandbox process, watched by a wall-clock deadline: the process announces each call
 * into the isolate with its timeout, and one that overruns it by more than the grace period
 * (a builtin that ignores isolated-vm's timeout) gets the process killed. A batch in flight when
 * the process dies or is killed rejects with `BatchFailure`.
 */
export class SandboxProcess {
  private pending: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stderr = '';
  private exited = false;
  private exitCode: number | null = null;
  private exitSignal: NodeJS.Signals | null = null;
  private killedForTimeout = false;
  /** What the process last said it was doing, and the deadline last armed. */
  private doing = 'starting';
  private deadlineMs = 0;
  private nextId = 1;

  private constructor(
    private readonly child: ChildProcess,
    private readonly graceMs: number,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL);
    });
    child.on('message', (message: ChildMessage) => this.onMessage(message));
    // 'close' rather than 'exit': stderr is complete by then, for describeDeath().
    child.on('close', (code, signal) => this.onExit(code, signal));
    // Errors (a failed send, a failed kill) are followed by 'close' or surface in post().
    child.on('error', () => undefined);
  }

  /**
   * Forks the process and compiles the script in it. A script that does not parse rejects with
   * `UsageError` (`file:line:col: SyntaxError: …`) and leaves no process behind.
   */
  static async start(setup: SandboxSetup): Promise<SandboxProcess> {
    const child = fork(resolveChildPath(), [], {
      execArgv: ['--no-node-snapshot'],
      // Nothing of the host's environment (USRUN_KEY, database URLs) for a process that runs
      // untrusted code, nor NODE_OPTIONS that could change how it runs.
      env: {},
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    // isolated-vm stops a script within milliseconds of its timeout; the grace absorbs IPC and
    // scheduling delays. It is generous (a loaded machine must not look like a runaway builtin),
    // and still far below what the guarded cases take (BigInt('7'.repeat(6e7)) runs ~10 s).
    const proc = new SandboxProcess(child, 1500 + setup.timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new InternalError('the sandbox process did not start in time')),
          STARTUP_MS,
        );
        const done = (): void => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('close', onExit);
        };
        const onMessage = (message: ChildMessage): void => {
          if (message.type === 'ready') {
            done();
            resolve();
          } else if (message.type === 'setup-failed') {
            done();
            reject(
              message.syntax
                ? new UsageError(message.message)
                : new InternalError(`sandbox setup failed: ${message.message}`),
            );
          }
        };
        const onExit = (): void => {
          done();
          reject(new InternalError(`the sandbox process exited during setup (${proc.describeDeath()})`));
        };
        child.on('message', onMessage);
        child.on('close', onExit);
        proc.post({ type: 'setup', setup });
      });
    } catch (e) {
      proc.kill();
      throw e;
    }
    return proc;
  }

  /** False once the process has exited or been killed: start a new one. */
  get alive(): boolean {
    return !this.exited;
  }

  /**
   * Runs one batch (one job per line, see encodeJobs): its `SandboxOutcome[]` JSON comes to
   * `slice` in order, a slice at a time, and the promise resolves when the batch is over. One
   * batch at a time.
   */
  run(lines: string, count: number, sliceMs: number, slice: (json: string) => void): Promise<void> {
    if (this.pending)
      return Promise.reject(new InternalError('SandboxProcess.run: a batch is already running'));
    if (this.exited) return Promise.reject(new BatchFailure('died', this.describeDeath()));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending = { id, slice, resolve, reject };
      this.arm(STARTUP_MS);
      this.post({ type: 'batch', id, lines, count, sliceMs });
    });
  }

  /** Asks the running batch to start no further job: it ends after the slice in hand. */
  cancel(): void {
    if (this.pending) this.post({ type: 'cancel', id: this.pending.id });
  }

  kill(): void {
    this.disarm();
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private post(message: HostMessage): void {
    try {
      this.child.send(message);
    } catch {
      // The channel is closed: the process is exiting, and onExit settles the batch.
    }
  }

  private onMessage(message: ChildMessage): void {
    const pending = this.pending;
    if (message.type === 'busy') {
      this.doing = message.what ?? 'running the script';
      if (pending) this.arm(message.ms + this.graceMs);
      return;
    }
    if (message.type === 'ready' || message.type === 'setup-failed' || pending?.id !== message.id) return;
    if (message.type === 'slice') {
      pending.slice(message.json);
      return;
    }
    this.pending = undefined;
    this.disarm();
    if (message.type === 'done') pending.resolve();
    else pending.reject(new BatchFailure(message.reason, message.message));
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.exitCode = code;
    this.exitSignal = signal;
    this.disarm();
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    pending.reject(
      this.killedForTimeout
        ? new BatchFailure('timeout', 'killed at its deadline', this.doing, this.deadlineMs)
        : new BatchFailure('died', this.describeDeath(), this.doing),
    );
  }

  private arm(ms: number): void {
    this.disarm();
    this.deadlineMs = ms;
    this.timer = setTimeout(() => {
      this.killedForTimeout = true;
      this.kill();
    }, ms);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** `signal SIGABRT: <first fatal line of stderr>` or `exit code 1`. */
  private describeDeath(): string {
    const how = this.exitSignal
      ? `signal ${this.exitSignal}`
      : this.exitCode !== null
        ? `exit code ${this.exitCode}`
        : 'no exit status';
    const hint = this.stderr
      .split('\n')
      .map((line) => line.trim())
      .find((line) => /fatal|out of memory|isolated-vm|error/i.test(line));
    return hint ? `${how}: ${hint.slice(0, 200)}` : how;
  }
}
