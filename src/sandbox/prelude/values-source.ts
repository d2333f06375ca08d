/**
 * Prelude fragment: turning script values into text for messages, logs and the outcome, parsing
 * ISO-8601 timestamps, and describing a thrown value (message and `file:line:col`). Uses the
 * intrinsics fragment and `FILENAME` from the runner fragment.
 */
export const VALUES_SOURCE = String.raw`
const MAX_TEXT = 1000;

// JSON text of a primitive string: no toJSON or replacer is ever consulted for a primitive.
function quote(s) {
  return jsonStringify(s);
}

function numberJson(n) {
  return typeof n === 'number' && isFiniteNumber(n) ? '' + n : 'null';
}

function truncate(s, max) {
  return s.length > max ? stringSlice(s, 0, max) + '…' : s;
}

function typeName(v) {
  if (v === null) return 'null';
  if (isArray(v)) return 'array';
  return typeof v;
}

// A short rendering of a script value for an error message; never runs script code.
function shown(v) {
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

const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
setPrototypeOf(DAYS_IN_MONTH, null);

// Milliseconds since the epoch of an ISO-8601 date or date-time, or NaN. A value without a zone
// is UTC (like the store), never the machine's local time.
function parseIso(s) {
  const m = regexpExec(ISO_TIMESTAMP, s);
  if (m === null) return NaN;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (month < 1 || month > 12 || day < 1 || day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month])) {
    return NaN;
  }
  let t = m[1] + '-' + m[2] + '-' + m[3] + 'T';
  if (m[4] === undefined) t += '00:00:00';
  else t += m[4] + ':' + m[5] + ':' + (m[6] === undefined ? '00' : m[6]) + (m[7] === undefined ? '' : m[7]);
  const zone = m[8];
  if (zone === undefined || zone === 'z' || zone === 'Z') t += 'Z';
  else if (zone.length === 5) t += stringSlice(zone, 0, 3) + ':' + stringSlice(zone, 3);
  else t += zone;
  return dateParse(t);
}

function isoOf(ms) {
  return dateToISOString(new DateCtor(ms));
}

// One console argument as text. Objects go through JSON (their toJSON and getters are the
// script's own code, running inside its own time budget).
function formatValue(v) {
  const t = typeof v;
  if (t === 'string') return v;
  if (v === null || (t !== 'object' && t !== 'function')) return t === 'bigint' ? StringCtor(v) + 'n' : StringCtor(v);
  try {
    if (t === 'function') {
      const name = v.name;
      return '[Function' + (typeof name === 'string' && name !== '' ? ' ' + name : '') + ']';
    }
    let time;
    try {
      time = dateGetTime(v);
    } catch (_) {
      // Not a Date.
    }
    if (time !== undefined) return time === time ? isoOf(time) : 'Invalid Date';
    const message = v.message;
    const name = v.name;
    if (typeof message === 'string' && typeof name === 'string' && !isArray(v)) {
      return name + (message === '' ? '' : ': ' + message);
    }
    const json = jsonStringify(v);
    if (typeof json === 'string') return json;
  } catch (_) {
    // Cycles, BigInts, throwing getters: fall through to a placeholder.
  }
  return '[object]';
}

// The first frame of a stack trace at 'FILENAME:LINE:COL' (not in its message).
function findLocation(stack) {
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
      const end = after === 10 || (after === 41 && (p + 1 >= stack.length || charCodeAt(stack, p + 1) === 10));
      if (digits > 0 && (before === 40 || before === 32) && end) return FILENAME + ':' + line + ':' + col;
    }
    from = at + 1;
  }
}

// What a failed run reports: 'TypeError: message' and where, or 'Uncaught <value>' for a
// thrown non-error. Reading name/message/stack may run script code (getters, prepareStackTrace):
// the user's state is already closed by then, and every read is guarded.
function describeThrown(e) {
  const r = { __proto__: null, message: '', location: undefined };
  if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
    let name;
    let message;
    try {
      name = e.name;
    } catch (_) {}
    try {
      message = e.message;
    } catch (_) {}
    if (typeof message === 'string') {
      const head = typeof name === 'string' && name !== '' ? name : 'Error';
      r.message = truncate(message === '' ? head : head + ': ' + message, MAX_TEXT);
      let stack;
      try {
        stack = e.stack;
      } catch (_) {}
      if (typeof stack === 'string') r.location = findLocation(stack);
      return r;
    }
  }
  let text;
  try {
    text = typeof e === 'string' ? quote(e) : formatValue(e);
  } catch (_) {
    text = typeName(e);
  }
  r.message = truncate('Uncaught ' + text, MAX_TEXT);
  return r;
}
`;
