/**
 * Prelude: turning script values into text for messages, logs and the outcome, parsing
 * ISO-8601 timestamps, and describing a thrown value (message and `file:line:col`). Uses the
 * intrinsics module and `FILENAME` from state.ts.
 */
import { parseIsoTimestamp } from '../../model/value-rules.js';
import {
  DateCtor,
  StringCtor,
  charCodeAt,
  dateGetTime,
  dateToISOString,
  isArray,
  isFiniteNumber,
  jsonStringify,
  stringIndexOf,
  stringSlice,
} from './intrinsics.js';
import { FILENAME } from './state.js';

export const MAX_TEXT = 1000;

// JSON text of a primitive string: no toJSON or replacer is ever consulted for a primitive.
export function quote(s: string): string {
  return jsonStringify(s);
}

export function numberJson(n: unknown): string {
  return typeof n === 'number' && isFiniteNumber(n) ? '' + n : 'null';
}

export function truncate(s: string, max: number): string {
  return s.length > max ? stringSlice(s, 0, max) + '…' : s;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (isArray(v)) return 'array';
  return typeof v;
}

// A short rendering of a script value for an error message; never runs script code.
export function shown(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return quote(truncate(v, 60));
    case 'number':
    case 'boolean':
    case 'undefined':
      return StringCtor(v);
    case 'bigint':
      return StringCtor(v) + 'n';
    default:
      return typeName(v);
  }
}

// Milliseconds since the epoch of an ISO-8601 date or date-time, or NaN (the shared parser: a
// value without a zone is UTC, like the store, never the machine's local time).
export const parseIso = parseIsoTimestamp;

export function isoOf(ms: number): string {
  return dateToISOString(new DateCtor(ms));
}

// One console argument as text. Objects go through JSON (their toJSON and getters are the
// script's own code, running inside its own time budget).
export function formatValue(v: unknown): string {
  const t = typeof v;
  if (t === 'string') return v as string;
  if (v === null || (t !== 'object' && t !== 'function'))
    return t === 'bigint' ? StringCtor(v) + 'n' : StringCtor(v);
  try {
    if (t === 'function') {
      const name = (v as any).name;
      return '[Function' + (typeof name === 'string' && name !== '' ? ' ' + name : '') + ']';
    }
    let time;
    try {
      time = dateGetTime(v);
    } catch {
      // Not a Date.
    }
    if (time !== undefined) return time === time ? isoOf(time) : 'Invalid Date';
    const message = (v as any).message;
    const name = (v as any).name;
    if (typeof message === 'string' && typeof name === 'string' && !isArray(v)) {
      return name + (message === '' ? '' : ': ' + message);
    }
    const json = jsonStringify(v);
    if (typeof json === 'string') return json;
  } catch {
    // Cycles, BigInts, throwing getters: fall through to a placeholder.
  }
  return '[object]';
}

// The first frame of a stack trace at 'FILENAME:LINE:COL' (not in its message).
export function findLocation(stack: string): string | undefined {
  const needle = FILENAME + ':';
  let from = stringIndexOf(stack, '\n    at ');
  if (from < 0) return undefined;
  for (;;) {
    const at = stringIndexOf(stack, needle, from);
    if (at < 0) return undefined;
    const before = at > 0 ? charCodeAt(stack, at - 1) : 0;
    let p = at + needle.length;
    let line = 0;
    let col = 0;
    let digits = 0;
    while (p < stack.length && charCodeAt(stack, p) >= 48 && charCodeAt(stack, p) <= 57) {
      line = line * 10 + charCodeAt(stack, p) - 48;
      p++;
      digits++;
    }
    if (digits > 0 && charCodeAt(stack, p) === 58) {
      p++;
      digits = 0;
      while (p < stack.length && charCodeAt(stack, p) >= 48 && charCodeAt(stack, p) <= 57) {
        col = col * 10 + charCodeAt(stack, p) - 48;
        p++;
        digits++;
      }
      // A frame's own position: after '(' or ' ' (so 'myscript.js' does not match 'script.js') and
      // ending its line, which skips the position of an eval origin ("eval at f (file:1:2), …").
      const after = p < stack.length ? charCodeAt(stack, p) : 10;
      const end =
        after === 10 || (after === 41 && (p + 1 >= stack.length || charCodeAt(stack, p + 1) === 10));
      if (digits > 0 && (before === 40 || before === 32) && end) return FILENAME + ':' + line + ':' + col;
    }
    from = at + 1;
  }
}

// What a failed run reports: 'TypeError: message' and where, or 'Uncaught <value>' for a
// thrown non-error. Reading name/message/stack may run script code (getters, prepareStackTrace):
// the user's state is already closed by then, and every read is guarded.
/** A thrown value as a failure: its message and, when known, `file:line:col`. */
export interface Thrown {
  message: string;
  location: string | undefined;
}

export function describeThrown(e: unknown): Thrown {
  const r: Thrown = { __proto__: null, message: '', location: undefined } as Thrown;
  if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
    let name;
    let message;
    try {
      name = (e as any).name;
    } catch {
      // A throwing getter: read as absent.
    }
    try {
      message = (e as any).message;
    } catch {
      // A throwing getter: read as absent.
    }
    if (typeof message === 'string') {
      const head = typeof name === 'string' && name !== '' ? name : 'Error';
      r.message = truncate(message === '' ? head : head + ': ' + message, MAX_TEXT);
      let stack;
      try {
        stack = (e as any).stack;
      } catch {
        // A throwing getter: read as absent.
      }
      if (typeof stack === 'string') r.location = findLocation(stack);
      return r;
    }
  }
  let text;
  try {
    text = typeof e === 'string' ? quote(e) : formatValue(e);
  } catch {
    text = typeName(e);
  }
  r.message = truncate('Uncaught ' + text, MAX_TEXT);
  return r;
}
