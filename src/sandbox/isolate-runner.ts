import { writeSync } from 'node:fs';
import ivm from 'isolated-vm';
import { USER_FIELDS } from '../store/user-fields.js';
import { BatchFailure } from './batch-failure.js';
import { PRELUDE_SOURCE } from './prelude/prelude-source.js';
import type { SandboxSetup } from './protocol.js';
import { ScriptSyntaxError } from './script-syntax-error.js';

/** File name of the prelude in stack traces; never the admin's. */
const PRELUDE_FILENAME = '<usrun>';
/** For calls that run no script code (setup, parsing a batch, reading progress). */
const CONTROL_TIMEOUT_MS = 10_000;

type Fn = ivm.Reference<(...args: any[]) => unknown>;

/**
 * One isolate and one context for a run: the prelude evaluated and the admin's script compiled
 * once, then batches of jobs run in a single call each. Lives in the sandbox process only.
 */
export class IsolateRunner {
  private constructor(
    private readonly isolate: ivm.Isolate,
    private readonly timeoutMs: number,
    private readonly run: Fn,
    private readonly progress: Fn,
    private readonly take: Fn,
  ) {}

  /**
   * Builds the isolate for `setup`. Throws `ScriptSyntaxError` when the script does not parse;
   * no script code has run by then.
   */
  static async create(setup: SandboxSetup): Promise<IsolateRunner> {
    const isolate = new ivm.Isolate({
      memoryLimit: setup.memoryMb,
      // V8 lost control of the isolate (e.g. a script that ignores termination): nothing in this
      // process can be trusted any more. The host sees the exit and fails the job.
      onCatastrophicError: (message) => {
        writeSync(2, `isolated-vm: ${message}\n`);
        process.abort();
      },
    });
    try {
      const context = await isolate.createContext();
      const timeout = CONTROL_TIMEOUT_MS;
      let script: ivm.Script;
      try {
        // The body of a function: `return` works, and strict mode makes sealed-object writes throw.
        // On its own first line, so lineOffset -1 keeps lines and columns those of the file.
        script = await isolate.compileScript(`(function () {"use strict";\n${setup.source}\n})`, {
          filename: setup.filename,
          lineOffset: -1,
        });
      } catch (e) {
        throw ScriptSyntaxError.from(e, setup.filename, setup.source);
      }
      const prelude = await isolate.compileScript(PRELUDE_SOURCE, { filename: PRELUDE_FILENAME });
      const init: Fn = await prelude.run(context, { reference: true, timeout });
      const config = {
        filename: setup.filename,
        timeoutMs: setup.timeoutMs,
        maxLogLines: setup.maxLogLines,
        fields: USER_FIELDS,
        profiles: setup.profiles,
        params: setup.params,
      };
      const api = (await init.apply(undefined, [JSON.stringify(config)], {
        timeout,
        result: { reference: true },
      })) as ivm.Reference<Record<string, unknown>>;
      const get = (name: string): Promise<Fn> => api.get(name, { reference: true }) as Promise<Fn>;

      // A body like "}); evil(); (function () {" compiles inside the wrapper; the Function
      // constructor parses it alone and refuses it. Checked before the wrapper ever runs.
      const problem = await (await get('check')).apply(undefined, [setup.source], { timeout });
      if (typeof problem === 'string') {
        try {
          await isolate.compileScript(setup.source, { filename: setup.filename });
        } catch (e) {
          throw ScriptSyntaxError.from(e, setup.filename, setup.source);
        }
        throw ScriptSyntaxError.from(problem, setup.filename, setup.source);
      }
      const fn: Fn = await script.run(context, { reference: true, timeout });
      await (await get('setScript')).apply(undefined, [fn.derefInto()], { timeout });
      const runner = new IsolateRunner(
        isolate,
        setup.timeoutMs,
        await get('run'),
        await get('progress'),
        await get('take'),
      );
      api.release();
      init.release();
      script.release();
      prelude.release();
      return runner;
    } catch (e) {
      if (!isolate.isDisposed) isolate.dispose();
      throw e;
    }
  }

  /** True once the memory limit (or an error) has destroyed the isolate: make a new runner. */
  get disposed(): boolean {
    return this.isolate.isDisposed;
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }

  /**
   * Runs a batch (one job per line, see encodeJobs), handing its `SandboxOutcome[]` JSON to `emit`
   * slice by slice: a slice ends after the job that passes `sliceMs`, so outcomes stream back
   * whatever the script's speed. Between slices, `cancelled()` may end the batch early: the jobs
   * not yet run never start. Each call into the isolate gets the per-user timeout and is
   * announced first, so the host can watch it. A call that times out is resumed at the job it
   * stopped in, which is failed only if it had the whole call to itself. Throws `BatchFailure`
   * when no outcome can be trusted.
   */
  async runBatch(
    lines: string,
    count: number,
    sliceMs: number,
    announce: (ms: number) => void,
    emit: (json: string) => void,
    cancelled: () => boolean,
  ): Promise<void> {
    let batch: string | null = lines;
    let from = 0;
    let failed = -1;
    let emitted = 0;
    for (;;) {
      let error: unknown;
      try {
        const answer = this.text(
          await this.call(this.run, [batch, from, failed, sliceMs, emitted], this.timeoutMs, announce),
        );
        const bar = answer.indexOf('|');
        const next = Number(answer.slice(0, bar));
        if (bar < 0 || !Number.isInteger(next) || next < from || next > count) {
          throw this.fail('error', 'the sandbox lost track of the batch');
        }
        emit(answer.slice(bar + 1));
        emitted = next;
        if (next === count || cancelled()) return;
        batch = null;
        from = next;
        failed = -1;
        continue;
      } catch (e) {
        if (e instanceof BatchFailure) throw e;
        error = e;
      }
      if (this.isolate.isDisposed) throw this.failure(error);
      batch = null;
      const reached = await this.call(this.progress, [], CONTROL_TIMEOUT_MS, announce);
      if (typeof reached !== 'number' || !Number.isInteger(reached) || reached < from || reached > count) {
        throw this.fail('error', 'the sandbox lost track of the batch');
      }
      if (!this.isTimeout(error)) {
        // The script's own throws are caught per job in the prelude: what threw here was a
        // promise callback run as the call ended, when no user object accepts changes any more.
        // The outcomes up to there stand. No progress at all means the error is the batch's own.
        if (reached === from && reached < count) throw this.failure(error);
        emit(this.text(await this.call(this.take, [emitted], CONTROL_TIMEOUT_MS, announce)));
        emitted = reached;
        if (reached === count || cancelled()) return;
        from = reached;
        failed = -1;
        continue;
      }
      if (reached === count) {
        emit(this.text(await this.call(this.take, [emitted], CONTROL_TIMEOUT_MS, announce)));
        return;
      }
      if (reached === from) {
        failed = reached;
        from = reached + 1;
      } else {
        failed = -1;
        from = reached;
      }
    }
  }

  private async call(
    fn: Fn,
    args: unknown[],
    timeout: number,
    announce: (ms: number) => void,
  ): Promise<unknown> {
    announce(timeout);
    try {
      return await fn.apply(undefined, args as never, { timeout });
    } catch (e) {
      if (fn === this.run) throw e;
      throw this.failure(e);
    }
  }

  private text(v: unknown): string {
    if (typeof v !== 'string') throw this.fail('error', 'the batch returned no outcomes');
    return v;
  }

  private isTimeout(e: unknown): boolean {
    return !this.isolate.isDisposed && e instanceof Error && /timed out/i.test(e.message);
  }

  /** Classifies an error from a call into the isolate; disposes the isolate unless it is gone. */
  private failure(e: unknown): BatchFailure {
    if (e instanceof BatchFailure) return e;
    const message = e instanceof Error ? e.message : String(e);
    if (this.isolate.isDisposed) {
      return new BatchFailure(/memory limit/i.test(message) ? 'memory' : 'error', message);
    }
    return this.fail(/timed out/i.test(message) ? 'timeout' : 'error', message);
  }

  private fail(reason: 'timeout' | 'error', message: string): BatchFailure {
    this.dispose();
    return new BatchFailure(reason, message);
  }
}
