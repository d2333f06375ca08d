/**
 * Prelude: the entry module. It installs the globals the script sees and exports `init`, which
 * returns the functions the sandbox process drives for each user of a batch:
 *
 * - `load([lines])` once per batch (one job per line, see ../wire-format.ts);
 * - `begin(index)` starts the script for job `index`. Its call into the isolate ends only when
 *   V8 has drained the microtask queue (isolated-vm runs it at the end of every call, inside the
 *   call's timeout), so everything the script queued, awaited or chained has run by then;
 * - `finish(message)` closes that user and returns its outcome. After `finish` the user's objects
 *   accept no change, and no work of its script is left in the queue.
 */
import { JOB_ROW } from '../wire-format.js';
import { NEVER_SETTLED_MESSAGE } from '../failure-messages.js';
import {
  AsyncFunctionCtor,
  ErrorCtor,
  G,
  List,
  ObjectPrototype,
  at,
  defineProperty,
  freeze,
  getOwnPropertyDescriptor,
  hasOwn,
  jsonParse,
  own,
  push,
  reflectDeleteProperty,
  setPrototypeOf,
  stringIndexOf,
  stringSlice,
  typeError,
} from './intrinsics.js';
import { MAX_TEXT, describeThrown, formatValue, truncate } from './values.js';
import { restoreJsonHooks } from './user-attr.js';
import { UserState } from './user-object.js';
import { CONSOLE, logsJson } from './console.js';
import { doneOutcome, failedOutcome, skippedOutcome } from './outcome.js';
import { configure, cur, setCurrent } from './state.js';
import { compilePython, pythonScript, pythonStarted, startPython } from './python.js';

let PARAMS: Record<string, string> = {};
let scriptFn: (() => Promise<unknown>) | null = null;
// The batch: one job's JSON per line, each parsed just before it runs, so a job's data dies
// young instead of the whole batch surviving into the old generation.
let batch = '';
let starts: number[] = new List();
let jobCount = 0;
let curUser: unknown;
let curRow: Record<string, string> | null = null;

const SKIP = freeze({ name: 'skip', message: 'skip() ends the script for this user' });

// Names a context starts with that scripts must not have: host hooks, timers, threads, wasm.
const REMOVED_GLOBALS = [
  'console',
  'WebAssembly',
  'SharedArrayBuffer',
  'Atomics',
  'FinalizationRegistry',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
  'queueMicrotask',
];
setPrototypeOf(REMOVED_GLOBALS, null);

function skip(reason?: unknown): never {
  const st = cur;
  if (st === null || st.closed) throw typeError('skip() can only be called while a user is being run');
  if (st.skipped === undefined)
    st.skipped = truncate(reason === undefined ? '' : formatValue(reason), MAX_TEXT);
  throw SKIP;
}

// The CSV row as a fresh ordinary object, so a script that changes it cannot affect a re-run.
function copyRow(row: unknown): Record<string, string> | null {
  if (row === null || typeof row !== 'object') return null;
  const r: Record<string, string> = { __proto__: null } as never;
  for (const k in row) if (hasOwn(row, k)) r[k] = (row as Record<string, string>)[k] as string;
  setPrototypeOf(r, ObjectPrototype);
  return r;
}

// Undoes what an earlier user's script may have done to stack traces, which error locations
// depend on. Reads descriptors only, so no getter a script planted runs outside its own run.
// Other changes to builtins persist, like any global a script sets (restoreJsonHooks aside).
function restoreErrorHooks(): void {
  try {
    const limit = getOwnPropertyDescriptor(ErrorCtor, 'stackTraceLimit');
    if (limit === undefined || !hasOwn(limit, 'value') || limit.value !== 10) {
      defineProperty(ErrorCtor, 'stackTraceLimit', {
        __proto__: null,
        value: 10,
        writable: true,
        enumerable: true,
        configurable: true,
      } as PropertyDescriptor);
    }
  } catch {
    // Made non-configurable by a script: it stays as that script left it.
  }
  try {
    if (hasOwn(ErrorCtor, 'prepareStackTrace')) reflectDeleteProperty(ErrorCtor, 'prepareStackTrace');
  } catch {
    // As above.
  }
}

function installGlobals(): void {
  for (let i = 0; i < REMOVED_GLOBALS.length; i++) reflectDeleteProperty(G, REMOVED_GLOBALS[i] as string);
  const getters = {
    __proto__: null,
    user() {
      return curUser;
    },
    row() {
      return curRow;
    },
  };
  freeze(getters.user);
  freeze(getters.row);
  const fixed = { __proto__: null, enumerable: false, configurable: false };
  defineProperty(G, 'user', { __proto__: fixed, get: getters.user } as PropertyDescriptor);
  defineProperty(G, 'obj', { __proto__: fixed, get: getters.user } as PropertyDescriptor);
  defineProperty(G, 'row', { __proto__: fixed, get: getters.row } as PropertyDescriptor);
  defineProperty(G, 'params', { __proto__: fixed, value: PARAMS, writable: false } as PropertyDescriptor);
  defineProperty(G, 'console', { __proto__: fixed, value: CONSOLE, writable: false } as PropertyDescriptor);
  defineProperty(G, 'skip', { __proto__: fixed, value: freeze(skip), writable: false } as PropertyDescriptor);
}

/** Reads the run's configuration, installs the globals and returns what the sandbox drives. */
export function init(configJson: string): unknown {
  const c: unknown = jsonParse(configJson);
  configure(c);
  const params = copyRow(own(c, 'params'));
  PARAMS = freeze(params === null ? {} : params);
  installGlobals();
  return freeze({
    __proto__: null,
    check,
    setScript,
    load,
    begin,
    finish,
    startPython,
    pythonStarted,
    compilePython,
    setPythonScript,
  });
}

// The message of the SyntaxError the AsyncFunction constructor raises for a body that only
// compiled because it closed the wrapping function early ("}); …; (async function () {"), or null.
function check(source: string): string | null {
  try {
    new AsyncFunctionCtor(source);
    return null;
  } catch (e) {
    return describeThrown(e).message;
  }
}

function setScript(fn: () => Promise<unknown>): void {
  scriptFn = fn;
}

// A Python script (python.ts) is run by the prelude's own function.
function setPythonScript(): void {
  scriptFn = pythonScript;
}

/** Takes a new batch (its lines, in a one-element array); returns its number of jobs. */
function load(wrapped: readonly [string]): number {
  const lines = wrapped[0];
  closeCurrent();
  batch = lines;
  starts = new List();
  let pos = 0;
  while (pos < lines.length) {
    push(starts, pos);
    const end = stringIndexOf(lines, '\n', pos);
    pos = end < 0 ? lines.length : end + 1;
  }
  push(starts, lines.length + 1);
  jobCount = starts.length - 1;
  return jobCount;
}

function job(index: number): unknown {
  return jsonParse(stringSlice(batch, starts[index] as number, (starts[index + 1] as number) - 1));
}

function closeCurrent(): void {
  const st = cur;
  if (st !== null) {
    st.closed = true;
    // What the script was handed becomes read-only: a reference kept for a later user is dead.
    const handed = st.handedOut;
    if (handed !== null) for (let i = 0; i < handed.length; i++) freeze(handed[i]);
  }
  setCurrent(null);
  curUser = undefined;
  curRow = null;
}

// Runs the script as an async function and records how it ended, inside the user's call.
async function settle(st: UserState, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (st.skipped === undefined) st.failure = describeThrown(e);
  }
  st.settled = true;
}

/** Starts the script for job `index`; the call returns once its microtasks are drained. */
function begin(index: number, logged: number): void {
  closeCurrent();
  if (index < 0 || index >= jobCount || scriptFn === null) throw typeError('begin: no such job');
  const j = job(index);
  const st = new UserState(j, index);
  setCurrent(st, logged);
  curUser = st.proxy;
  curRow = copyRow(at(j, JOB_ROW));
  restoreErrorHooks();
  restoreJsonHooks();
  void settle(st, scriptFn);
}

/**
 * Closes the user `begin` started and returns its outcome: failed with `message` when the host
 * says so (a timeout, an unhandled rejection), else as the script left it.
 */
function finish(message: string | null): string {
  const st = cur;
  closeCurrent();
  if (st === null) throw typeError('finish: no user is being run');
  if (message !== null) return failedOutcome(st, logsJson(st), message, undefined);
  if (st.skipped !== undefined) return skippedOutcome(st);
  const f = st.failure;
  if (f !== null) return failedOutcome(st, logsJson(st), f.message, f.location);
  if (!st.settled) return failedOutcome(st, logsJson(st), NEVER_SETTLED_MESSAGE, undefined);
  return doneOutcome(st);
}
