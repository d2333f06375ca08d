/**
 * Prelude fragment: the run configuration, the globals the script sees, and the batch loop the
 * child drives (`init` once, then `run` per batch, with `progress` / `collect` after a call was
 * cut short). The loop records how far it got in closure state, so after isolated-vm's timeout
 * the child can ask where it stopped and resume there.
 */
export const RUNNER_SOURCE = String.raw`
let FILENAME = 'script.js';
let TIMEOUT_MS = 0;
let MAX_LOG_LINES = 100;
const FIELD = { __proto__: null };
const FIELD_LIST = new List();
const USER_KEYS = new List();
const PROFILE_BY_ID = { __proto__: null };
const PROFILE_BY_SHORT_NAME = { __proto__: null };
let PARAMS = null;

let scriptFn = null;
// The batch: one job's JSON per line, each parsed just before it runs, so a job's data dies
// young instead of the whole batch surviving into the old generation.
let batch = '';
let starts = null;
let jobCount = 0;
let next = 0;
let results = null;
let cur = null;
let curUser;
let curRow = null;

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

function skip(reason) {
  const st = cur;
  if (st === null || st.closed) throw typeError('skip() can only be called while a user is being run');
  if (st.skipped === undefined) st.skipped = truncate(reason === undefined ? '' : formatValue(reason), MAX_TEXT);
  throw SKIP;
}

// The CSV row as a fresh ordinary object, so a script that changes it cannot affect a re-run.
function copyRow(row) {
  if (row === null || typeof row !== 'object') return null;
  const r = { __proto__: null };
  for (const k in row) if (hasOwn(row, k)) r[k] = row[k];
  setPrototypeOf(r, ObjectPrototype);
  return r;
}

// Undoes what an earlier user's script may have done to stack traces, which error locations
// depend on. Reads descriptors only, so no getter a script planted runs outside its own run.
// Other changes to builtins persist, like any global a script sets (restoreJsonHooks aside).
function restoreErrorHooks() {
  try {
    const limit = getOwnPropertyDescriptor(ErrorCtor, 'stackTraceLimit');
    if (limit === undefined || !hasOwn(limit, 'value') || limit.value !== 10) {
      defineProperty(ErrorCtor, 'stackTraceLimit', { __proto__: null, value: 10, writable: true, enumerable: true, configurable: true });
    }
  } catch (_) {
    // Made non-configurable by a script: it stays as that script left it.
  }
  try {
    if (hasOwn(ErrorCtor, 'prepareStackTrace')) reflectDeleteProperty(ErrorCtor, 'prepareStackTrace');
  } catch (_) {}
}

function installGlobals() {
  for (let i = 0; i < REMOVED_GLOBALS.length; i++) reflectDeleteProperty(G, REMOVED_GLOBALS[i]);
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
  defineProperty(G, 'user', { __proto__: fixed, get: getters.user });
  defineProperty(G, 'obj', { __proto__: fixed, get: getters.user });
  defineProperty(G, 'row', { __proto__: fixed, get: getters.row });
  defineProperty(G, 'params', { __proto__: fixed, value: PARAMS, writable: false });
  defineProperty(G, 'console', { __proto__: fixed, value: CONSOLE, writable: false });
  defineProperty(G, 'skip', { __proto__: fixed, value: freeze(skip), writable: false });
}

function init(configJson) {
  const c = jsonParse(configJson);
  FILENAME = own(c, 'filename');
  TIMEOUT_MS = own(c, 'timeoutMs');
  MAX_LOG_LINES = own(c, 'maxLogLines');
  const fields = own(c, 'fields');
  for (let i = 0; i < fields.length; i++) {
    const f = new FieldSpec(fields[i], i);
    FIELD[f.name] = f;
    push(FIELD_LIST, f);
    push(USER_KEYS, f.name);
  }
  for (const k in READERS) push(USER_KEYS, k);
  for (const k in METHODS) push(USER_KEYS, k);
  freeze(USER_KEYS);
  const profiles = own(c, 'profiles');
  for (let i = 0; i < profiles.length; i++) {
    const p = profiles[i];
    const entry = freeze({ __proto__: null, id: own(p, 'id'), short_name: own(p, 'short_name'), name: own(p, 'name'), attributes: own(p, 'attributes'), check_attributes: own(p, 'check_attributes') });
    PROFILE_BY_ID['' + entry.id] = entry;
    PROFILE_BY_SHORT_NAME[entry.short_name] = entry;
  }
  const params = copyRow(own(c, 'params'));
  PARAMS = freeze(params === null ? {} : params);
  installGlobals();
  return freeze({ __proto__: null, check: check, setScript: setScript, run: run, progress: progress, take: take });
}

// The message of the SyntaxError the Function constructor raises for a body that only compiled
// because it closed the wrapping function early ("}); …; (function () {"), or null.
function check(source) {
  try {
    new FunctionCtor(source);
    return null;
  } catch (e) {
    return describeThrown(e).message;
  }
}

function setScript(fn) {
  scriptFn = fn;
}

function runOne(job, index) {
  const st = new UserState(job, index);
  cur = st;
  curUser = st.proxy;
  curRow = copyRow(at(job, 6));
  restoreErrorHooks();
  restoreJsonHooks();
  let threw = false;
  let thrown;
  try {
    scriptFn();
  } catch (e) {
    threw = true;
    thrown = e;
  }
  st.closed = true;
  if (st.skipped !== undefined) return skippedOutcome(st);
  if (threw) {
    const d = describeThrown(thrown);
    return failedOutcome(st.seq, logsJson(st), d.message, d.location);
  }
  return doneOutcome(st);
}

function load(lines) {
  if (cur !== null) cur.closed = true;
  cur = null;
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
  next = 0;
  results = new List();
}

function job(index) {
  return jsonParse(stringSlice(batch, starts[index], starts[index + 1] - 1));
}

function timedOutOutcome(index) {
  const st = cur !== null && cur.index === index ? cur : null;
  return failedOutcome(at(job(index), 0), st === null ? '[]' : logsJson(st), 'script timed out after ' + TIMEOUT_MS + ' ms', undefined);
}

// Runs a new batch ('lines'), or resumes the current one (lines null) at job 'from'. 'failed'
// (or -1) is the job a timeout cut off while it had a whole call to itself, recorded as timed
// out instead of being run again. Returns after the last job, or after the first job that ends
// 'sliceMs' or more after the call began, with the outcomes from job 'emitted' on (those the host
// has not had yet): 'NEXT|[outcomes]'.
function run(lines, from, failed, sliceMs, emitted) {
  if (lines !== null) load(lines);
  if (failed >= 0 && failed < jobCount && results[failed] === undefined) results[failed] = timedOutOutcome(failed);
  if (cur !== null) cur.closed = true;
  const stopAt = sliceMs > 0 ? dateNow() + sliceMs : -1;
  next = from;
  for (let i = from; i < jobCount; i++) {
    next = i;
    const outcome = runOne(job(i), i);
    // Flattened now: a rope of many pieces kept until the batch ends would be costly to collect.
    charCodeAt(outcome, 0);
    results[i] = outcome;
    next = i + 1;
    if (stopAt >= 0 && next < jobCount && dateNow() >= stopAt) return next + '|' + take(emitted);
  }
  next = jobCount;
  return next + '|' + take(emitted);
}

// The index of the job running (or about to run); jobCount once the loop is done.
function progress() {
  return next;
}

// The outcomes from job 'from' up to the job running (or about to run), as a JSON array; a job
// that has none by then (lost to a crash) gets a failed one.
function take(from) {
  let s = '[';
  const end = next < jobCount ? next : jobCount;
  for (let i = from; i < end; i++) {
    const r = results[i];
    s +=
      (i === from ? '' : ',') +
      (r !== undefined ? r : failedOutcome(at(job(i), 0), '[]', 'the sandbox lost the outcome of this user', undefined));
  }
  return s + ']';
}
`;
