import { readFileSync } from 'node:fs';
import { writeSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ivm from 'isolated-vm';
import { USER_FIELDS } from '../store/user-fields.js';
import { MAX_CHANGES_PER_USER } from '../model/value-rules.js';
import { memoryMessage, timeoutMessage, unhandledRejectionMessage } from './failure-messages.js';
import type { SandboxSetup } from './protocol.js';
import { resolveChildPath } from './resolve-child-path.js';
import { languageOf } from './script-languages.js';
import { FAILED_MESSAGE, OUTCOME_LOGS, OUTCOME_SEQ, OUTCOME_STATUS, STATUS_FAILED } from './wire-format.js';

/** For calls that run no script code (setup, loading a batch, writing an outcome). */
const CONTROL_TIMEOUT_MS = 10_000;
/** Console text kept per user, in characters. */
export const MAX_LOG_CHARS = 65_536;
/** Console text kept per run (per sandbox process), in characters. */
export const MAX_RUN_LOG_CHARS = 64 * 1024 * 1024;
/** The prelude's entry module, relative to the compiled `sandbox/` folder. */
const PRELUDE_ENTRY = join('prelude', 'runner.js');

type Fn = ivm.Reference<(...args: any[]) => unknown>;

/** What became of one job: its outcome's JSON text, and whether the isolate must be replaced. */
export interface JobResult {
  text: string;
  /** The isolate is gone (memory limit) or may still hold the job's queued work (timeout). */
  broken: boolean;
}

const sources = new Map<string, string>();

/** The compiled text of a module of the build, read once per process. */
function sourceOf(path: string): string {
  let text = sources.get(path);
  if (text === undefined) {
    text = readFileSync(path, 'utf8');
    sources.set(path, text);
  }
  return text;
}

/**
 * Evaluates the prelude (`src/sandbox/prelude/*.ts`, compiled to `dist/`) as ES modules in
 * `context`, before any script code exists there, and returns its `init`. Imports resolve to
 * compiled files of the build only (relative specifiers; no package, no Node builtin).
 */
function evaluatePrelude(isolate: ivm.Isolate, context: ivm.Context): Fn {
  const sandboxDir = dirname(resolveChildPath());
  const root = dirname(sandboxDir);
  const modules = new Map<string, ivm.Module>();
  const load = (path: string): ivm.Module => {
    let module = modules.get(path);
    if (module === undefined) {
      module = isolate.compileModuleSync(sourceOf(path), { filename: `<usrun>/${relative(root, path)}` });
      modules.set(path, module);
    }
    return module;
  };
  const entry = join(sandboxDir, PRELUDE_ENTRY);
  const paths = new Map<ivm.Module, string>([[load(entry), entry]]);
  load(entry).instantiateSync(context, (specifier, referrer) => {
    const from = paths.get(referrer);
    const path = from === undefined ? undefined : resolve(dirname(from), specifier);
    if (
      !specifier.startsWith('.') ||
      path === undefined ||
      !path.startsWith(root + sep) ||
      !path.endsWith('.js')
    ) {
      throw new Error(`the prelude may not import ${specifier}`);
    }
    const module = load(path);
    paths.set(module, path);
    return module;
  });
  const module = load(entry);
  module.evaluateSync({ timeout: CONTROL_TIMEOUT_MS });
  return module.namespace.getSync('init', { reference: true }) as Fn;
}

/**
 * One isolate and one context: the prelude evaluated and the admin's script compiled once, then
 * each job of a batch run by two calls into the isolate: `begin` (the script, with the per-user
 * timeout; V8 drains the microtask queue before the call returns, inside that timeout) and
 * `finish` (the outcome). Lives in the sandbox process only.
 */
export class IsolateRunner {
  private constructor(
    private readonly isolate: ivm.Isolate,
    private readonly setup: SandboxSetup,
    private readonly loadFn: Fn,
    private readonly beginFn: Fn,
    private readonly finishFn: Fn,
  ) {}

  /**
   * Builds the isolate for `setup`. Throws `ScriptSyntaxError` when the script does not parse;
   * no script code has run by then.
   */
  static async create(setup: SandboxSetup): Promise<IsolateRunner> {
    const language = await languageOf(setup.filename).load();
    const isolate = new ivm.Isolate({
      memoryLimit: language.heapMb(setup.memoryMb),
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
      const init = evaluatePrelude(isolate, context);
      const config = {
        filename: setup.filename,
        maxLogLines: setup.maxLogLines,
        maxLogChars: setup.maxLogChars ?? MAX_LOG_CHARS,
        maxRunLogChars: setup.maxRunLogChars ?? MAX_RUN_LOG_CHARS,
        maxChanges: MAX_CHANGES_PER_USER,
        fields: USER_FIELDS,
        profiles: setup.profiles,
        params: setup.params,
      };
      const api = init.applySync(undefined, [JSON.stringify(config)], {
        timeout,
        result: { reference: true },
      }) as ivm.Reference<Record<string, unknown>>;
      const get = (name: string): Fn => api.getSync(name, { reference: true }) as Fn;
      await language.prepare(isolate, context, setup, get);
      const runner = new IsolateRunner(isolate, setup, get('load'), get('begin'), get('finish'));
      api.release();
      init.release();
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

  /** See IsolateSession.externalBytes. */
  externalBytes(): number {
    return this.isolate.isDisposed ? 0 : this.isolate.getHeapStatisticsSync().externally_allocated_size;
  }

  /** Hands the isolate a batch (one job per line, see encodeJobs); returns its number of jobs. */
  load(lines: string): number {
    // Inside a one-element array, copied: isolated-vm hands a string of 1 KB or more to the
    // isolate as an external string, which V8's collector does not count, so each batch's
    // ~300 KB stayed alive until the isolate neared its memory limit (the process grew by
    // 0.7 KB per user). A copied array is deserialized into an ordinary string on the isolate's
    // heap, collected like any other garbage.
    return this.loadFn.applySync(undefined, [[lines]], {
      timeout: CONTROL_TIMEOUT_MS,
      arguments: { copy: true },
    }) as number;
  }

  /**
   * Runs job `index` of the loaded batch and returns its outcome. `seq` is asked only when the
   * isolate cannot write the outcome itself; `runLogChars` is the console text the run logged so
   * far (the run's cap). Synchronous calls: the process has nothing else to
   * do meanwhile, and they cost a few µs where an asynchronous call costs about 40.
   */
  runJob(index: number, seq: () => number, runLogChars: number): JobResult {
    const timeoutMs = this.setup.timeoutMs;
    try {
      this.beginFn.applySync(undefined, [index, runLogChars], { timeout: timeoutMs });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (this.isolate.isDisposed) {
        const why = /memory limit/i.test(message) ? memoryMessage(this.setup.memoryMb) : message;
        return { text: failedOutcome(seq(), why), broken: true };
      }
      if (/timed out/i.test(message)) {
        // The job's own queued work may still be waiting in the isolate: the outcome (with its
        // logs) is asked for within the same timeout, then the isolate is replaced.
        const text =
          this.tryFinish(timeoutMessage(timeoutMs), timeoutMs) ??
          failedOutcome(seq(), timeoutMessage(timeoutMs));
        this.dispose();
        return { text, broken: true };
      }
      // isolated-vm reports a rejected promise nobody handled as the call's error; the queue is
      // drained by then.
      const text = this.tryFinish(unhandledRejectionMessage(message), CONTROL_TIMEOUT_MS);
      return text === undefined
        ? { text: failedOutcome(seq(), unhandledRejectionMessage(message)), broken: true }
        : { text, broken: false };
    }
    const text = this.tryFinish(null, CONTROL_TIMEOUT_MS);
    if (text === undefined) {
      return {
        text: failedOutcome(seq(), 'the sandbox could not write the outcome of this user'),
        broken: true,
      };
    }
    return { text, broken: false };
  }

  private tryFinish(message: string | null, timeout: number): string | undefined {
    if (this.isolate.isDisposed) return undefined;
    try {
      const text = this.finishFn.applySync(undefined, [message], { timeout });
      return typeof text === 'string' ? text : undefined;
    } catch {
      return undefined;
    }
  }
}

/** A failed outcome written on the host side of the isolate (no logs). */
export function failedOutcome(seq: number, message: string): string {
  const row: unknown[] = [];
  row[OUTCOME_SEQ] = seq;
  row[OUTCOME_STATUS] = STATUS_FAILED;
  row[OUTCOME_LOGS] = [];
  row[FAILED_MESSAGE] = message;
  return JSON.stringify(row);
}
