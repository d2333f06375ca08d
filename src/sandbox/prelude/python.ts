/**
 * Prelude: the JavaScript side of Python scripts (MicroPython compiled to WebAssembly, loaded in
 * this isolate; see ../python/ and the README's "Python" section). Python reaches the run only
 * through `hostCall`, a function that takes and returns strings: values cross as tagged JSON, so
 * arrays become tuples, big integers stay exact (or are refused), timestamps become datetimes and
 * a JavaScript error becomes a Python exception instead of unwinding through the wasm stack.
 *
 * Tagged JSON (both ways): primitives as themselves; `["t", [...]]` a tuple (JS → Py) or
 * `["l", [...]]` a list (Py → JS), `["d", {...}]` a dict, `["D", ms]` a timestamp, `["h", gen, i]`
 * an API object of the current user, `["m", gen, i, name]` its method, `["f", "nan"]` a non-finite
 * float, `["u"]` an argument left out (undefined), `["E", name, message]` (JS → Py, top level only) an error.
 */
import {
  DateCtor,
  G,
  List,
  ObjectPrototype,
  StringCtor,
  dateGetTime,
  defineProperty,
  freeze,
  isArray,
  isFiniteNumber,
  jsonParse,
  jsonStringify,
  objectKeys,
  push,
  reflectDeleteProperty,
  stringSlice,
  typeError,
} from './intrinsics.js';
import { CONSOLE } from './console.js';
import { MAX_TEXT, describeThrown, formatValue, quote, truncate } from './values.js';
import { cur } from './state.js';
import type { UserState } from './user-object.js';

// Captured before `init` removes WebAssembly from the globals (typed loosely: the build's lib
// has no WebAssembly declarations).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => object;
  Memory: unknown;
  Table: unknown;
  RuntimeError: unknown;
  CompileError: unknown;
}
const WasmNamespace = (G as unknown as { WebAssembly: WasmApi }).WebAssembly;
const WasmModule = WasmNamespace.Module;
const WasmInstance = WasmNamespace.Instance;
const FinalizationRegistryCtor = (G as unknown as { FinalizationRegistry: unknown }).FinalizationRegistry;
const getPrototypeOf = Object.getPrototypeOf;
const reflectApply = Reflect.apply;
const fromCharCode = String.fromCharCode;
const mathRandom = Math.random;

type PyFn = (...args: unknown[]) => unknown;

interface MicroPython {
  registerJsModule(name: string, module: object): void;
  runPython(code: string): unknown;
  globals: { get(key: string): unknown; delete(key: string): void };
}

let mp: MicroPython | null = null;
let loadError: string | null = null;
let pyRun: PyFn | null = null;
let pyCompile: PyFn | null = null;
let params: Record<string, string> = {};
let memoryNote = '';

// Handles of the current user's API objects; handles[0] is the user. Reset for each user, with
// a new generation, so an object kept from an earlier user is refused instead of acting on this one.
let handles: unknown[] = new List();
let handleOwner: UserState | null = null;
let generation = 0;

/** A plain UTF-8 decoder (a byte loop: see the research note on shims that defeat the limits). */
class Utf8Decoder {
  decode(bytes?: Uint8Array): string {
    if (bytes === undefined) return '';
    let s = '';
    let chunk = new List<number>();
    const n = bytes.length;
    for (let i = 0; i < n;) {
      const b = bytes[i++] as number;
      let c = b;
      if (b >= 0xf0) {
        c = ((b & 7) << 18) | (((bytes[i] as number) & 63) << 12) | (((bytes[i + 1] as number) & 63) << 6);
        c |= (bytes[i + 2] as number) & 63;
        i += 3;
      } else if (b >= 0xe0) {
        c = ((b & 15) << 12) | (((bytes[i] as number) & 63) << 6) | ((bytes[i + 1] as number) & 63);
        i += 2;
      } else if (b >= 0xc0) {
        c = ((b & 31) << 6) | ((bytes[i] as number) & 63);
        i += 1;
      }
      if (c > 0xffff) {
        c -= 0x10000;
        push(chunk, 0xd800 + (c >> 10));
        c = 0xdc00 + (c & 1023);
      }
      push(chunk, c);
      if (chunk.length >= 4096) {
        s += reflectApply(fromCharCode, undefined, chunk) as string;
        chunk = new List();
      }
    }
    return chunk.length > 0 ? s + (reflectApply(fromCharCode, undefined, chunk) as string) : s;
  }
}

/** The globals emscripten's glue needs while it loads (its "worker" path, no Node or DOM API). */
function loaderGlobals(wasm: Uint8Array, capBytes: number): Record<string, unknown> {
  const wasmShim = {
    Module: WasmModule,
    Instance: WasmInstance,
    Memory: WasmNamespace.Memory,
    Table: WasmNamespace.Table,
    RuntimeError: WasmNamespace.RuntimeError,
    CompileError: WasmNamespace.CompileError,
    // The bytes were handed in by the host; compiled here, synchronously (a few ms).
    instantiateStreaming(_response: unknown, imports: Record<string, Record<string, unknown>>) {
      const env = imports.env;
      const grow = env?.emscripten_resize_heap as ((size: number) => boolean) | undefined;
      if (env === undefined || grow === undefined) throw typeError('micropython: no emscripten_resize_heap');
      // wasm memory is outside the isolate's memoryLimit: the cap is what bounds Python's heap.
      // Refused growth makes MicroPython raise MemoryError.
      env.emscripten_resize_heap = (size: number) => (size >>> 0 > capBytes ? false : grow(size));
      const module = new WasmModule(wasm);
      return Promise.resolve({ module, instance: new WasmInstance(module, imports) });
    },
  };
  return {
    WorkerGlobalScope: function WorkerGlobalScope() {},
    TextDecoder: Utf8Decoder,
    crypto: {
      getRandomValues(view: Uint8Array | Uint32Array) {
        for (let i = 0; i < view.length; i++) view[i] = (mathRandom() * 4294967296) >>> 0;
        return view;
      },
    },
    fetch: () => undefined,
    WebAssembly: wasmShim,
    FinalizationRegistry: FinalizationRegistryCtor,
  };
}

// Left in place after loading: the glue reads them while Python runs.
const KEPT_GLOBALS: Record<string, true> = {
  __proto__: null,
  crypto: true,
  TextDecoder: true,
} as never;

/**
 * Starts MicroPython in this isolate: `loadMicroPython` is the glue's export, `wasm` its bytes
 * (copied in by the host), `capBytes` the most wasm memory it may grow to, `heapBytes` its first
 * GC heap, `bootstrap` the Python side of the bridge (../python/usrun_bridge.py). Everything runs
 * in microtasks that this call drains; `pythonStarted` then tells how it went.
 */
export function startPython(
  loadMicroPython: (options: object) => Promise<MicroPython>,
  wasm: Uint8Array,
  capBytes: number,
  heapBytes: number,
  bootstrap: string,
  paramsJson: string,
): void {
  params = jsonParse(paramsJson);
  memoryNote =
    " (Python's heap is capped at " +
    capBytes / 1048576 +
    ' MB, half of --memory; --memory raises the limit)';
  const shims = loaderGlobals(wasm, capBytes);
  const names = objectKeys(shims);
  for (let i = 0; i < names.length; i++) {
    const k = names[i] as string;
    defineProperty(G, k, { value: shims[k], writable: true, configurable: true, enumerable: false });
  }
  const cleanUp = (): void => {
    for (let i = 0; i < names.length; i++)
      if (KEPT_GLOBALS[names[i] as string] !== true) reflectDeleteProperty(G, names[i] as string);
  };
  loadMicroPython({ heapsize: heapBytes, linebuffer: true, stdout: ignore, stderr: ignore }).then(
    (m) => {
      cleanUp();
      try {
        m.registerJsModule('_usrun_host', { call: hostCall });
        m.runPython(bootstrap);
        pyRun = m.globals.get('_usrun_run') as PyFn;
        pyCompile = m.globals.get('_usrun_compile') as PyFn;
        // Nothing of the bridge stays where Python code could look it up by name.
        m.globals.delete('_usrun_run');
        m.globals.delete('_usrun_compile');
        mp = m;
      } catch (e) {
        loadError = describeThrown(e).message;
      }
    },
    (e: unknown) => {
      cleanUp();
      loadError = describeThrown(e).message;
    },
  );
}

function ignore(): void {}

/** null once Python is ready, else why it is not. */
export function pythonStarted(): string | null {
  return mp !== null ? null : (loadError ?? 'MicroPython did not finish loading');
}

/**
 * Compiles the script (once for the whole run): '' when it compiles, else
 * `file:line: SyntaxError: message`.
 */
export function compilePython(source: string, filename: string): string {
  if (pyCompile === null) throw typeError('Python is not started');
  return StringCtor(pyCompile(source, filename));
}

/**
 * The script as the runner calls it for each user: runs the compiled Python code with fresh
 * globals. A skip was recorded by the host call; a Python exception becomes the user's failure.
 */
export async function pythonScript(): Promise<void> {
  const st = cur;
  if (pyRun === null || st === null) throw typeError('Python is not started');
  const r = StringCtor(pyRun());
  if (r === '' || st.skipped !== undefined) return;
  const [message, location] = jsonParse(r) as [string, string | null];
  const why = stringSlice(message, 0, 12) === 'MemoryError:' || message === 'MemoryError' ? memoryNote : '';
  st.failure = { message: truncate(message, MAX_TEXT - why.length) + why, location: location ?? undefined };
}

function handlesOf(st: UserState): unknown[] {
  if (handleOwner !== st) {
    handleOwner = st;
    generation++;
    handles = new List();
    push(handles, st.proxy);
  }
  return handles;
}

function handle(st: UserState, gen: unknown, i: unknown): unknown {
  const hs = handlesOf(st);
  if (gen !== generation || typeof i !== 'number' || i < 0 || i >= hs.length) {
    throw typeError('this object belongs to an earlier user; use the current user');
  }
  return hs[i];
}

function handleOf(st: UserState, v: object): unknown[] {
  const hs = handlesOf(st);
  let i = 0;
  while (i < hs.length && hs[i] !== v) i++;
  if (i === hs.length) push(hs, v);
  return ['h', generation, i];
}

// A JavaScript value as tagged JSON data (see the header).
function toPy(st: UserState, v: unknown, depth: number): unknown {
  if (v === undefined || v === null) return null;
  const t = typeof v;
  if (t === 'string' || t === 'boolean') return v;
  if (t === 'number') return isFiniteNumber(v) ? v : ['f', StringCtor(v)];
  if (t === 'bigint') return ['i', StringCtor(v)];
  if (t !== 'object' || depth > 100) return formatValue(v);
  const o = v as object;
  if (o === st.proxy) return handleOf(st, o);
  if (isArray(o)) {
    const items = new List<unknown>();
    for (let i = 0; i < o.length; i++) push(items, toPy(st, o[i], depth + 1));
    return ['t', items];
  }
  let ms: number | undefined;
  try {
    ms = dateGetTime(o);
  } catch {
    // Not a Date.
  }
  if (ms !== undefined) return ms === ms ? ['D', ms] : null;
  const proto: unknown = getPrototypeOf(o);
  if (proto !== ObjectPrototype && proto !== null) return handleOf(st, o);
  const d: Record<string, unknown> = {};
  const keys = objectKeys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    defineProperty(d, k, {
      value: toPy(st, (o as Record<string, unknown>)[k], depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return ['d', d];
}

// Tagged JSON data from Python as JavaScript values (see the header).
function fromPy(st: UserState, v: unknown, depth: number): unknown {
  if (!isArray(v) || depth > 100) return v;
  switch (v[0]) {
    case 'l': {
      const items = v[1] as unknown[];
      const out: unknown[] = [];
      for (let i = 0; i < items.length; i++) out[i] = fromPy(st, items[i], depth + 1);
      return out;
    }
    case 'd': {
      const o = v[1] as Record<string, unknown>;
      const keys = objectKeys(o);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i] as string;
        o[k] = fromPy(st, o[k], depth + 1);
      }
      return o;
    }
    case 'D':
      return new DateCtor(v[1] as number);
    case 'h':
      return handle(st, v[1], v[2]);
    case 'u':
      return undefined;
    case 'f':
      return v[1] === 'nan' ? NaN : v[1] === '-inf' ? -Infinity : Infinity;
    default:
      throw typeError('usrun: unknown value tag ' + StringCtor(v[0]));
  }
}

function errorJson(e: unknown): string {
  let name = 'Error';
  try {
    const n = (e as { name?: unknown }).name;
    if (typeof n === 'string') name = n;
  } catch {
    // A throwing getter: keep 'Error'.
  }
  const d = describeThrown(e).message;
  const prefix = name + ': ';
  const message =
    d.length >= prefix.length && d.slice(0, prefix.length) === prefix ? d.slice(prefix.length) : d;
  return jsonStringify(['E', name, message]);
}

/**
 * The one function Python calls: `op` on handle `h` (its generation `gen`) with the property
 * `name` and the tagged JSON `json`. Returns tagged JSON; never throws into wasm.
 */
function hostCall(op: string, gen: number, h: number, name: string, json: string): string {
  try {
    const st = cur;
    if (st === null || st.closed) throw typeError('usrun: no user is being run');
    switch (op) {
      case 'get': {
        const target = handle(st, gen, h) as Record<string, unknown>;
        // A JavaScript object reads an unknown name as undefined; Python raises AttributeError.
        if (!(name in target))
          throw typeError((h === 0 ? 'user' : 'this object') + ' has no attribute ' + quote(name));
        const v = target[name];
        if (typeof v === 'function') return jsonStringify(['m', generation, h, name]);
        return jsonStringify(toPy(st, v, 0));
      }
      case 'set': {
        const target = handle(st, gen, h) as Record<string, unknown>;
        target[name] = fromPy(st, jsonParse(json), 0);
        return 'null';
      }
      case 'call': {
        const target = handle(st, gen, h) as Record<string, unknown>;
        const fn = target[name];
        if (typeof fn !== 'function') throw typeError(name + ' is not a method');
        const args = fromPy(st, jsonParse(json), 0) as unknown[];
        return jsonStringify(toPy(st, reflectApply(fn, target, args), 0));
      }
      case 'begin': {
        handlesOf(st);
        const row = (G as unknown as { row: unknown }).row;
        return jsonStringify(['t', [generation, toPy(st, row, 0), toPy(st, params, 0)]]);
      }
      case 'log':
        CONSOLE.log(json);
        return 'null';
      case 'skip':
        try {
          (G as unknown as { skip: (reason?: unknown) => never }).skip(json);
        } catch {
          // skip() records the reason and throws to end a JavaScript script; Python raises its own.
        }
        return 'null';
      default:
        throw typeError('usrun: unknown host call ' + op);
    }
  } catch (e) {
    return errorJson(e);
  }
}
freeze(hostCall);
