/**
 * The rules for values a script hands to usrun, shared by the sandbox's prelude (which throws
 * them at the script as `TypeError`s) and the host (which re-checks what comes out of the
 * sandbox, `src/run/plan-user-changes.ts`). The same compiled file runs on both sides: in the
 * isolate it is evaluated before any script, so every builtin it uses is captured here, at load,
 * and never looked up again where a script could have replaced it. No imports: the isolate's
 * module loader gives it nothing else.
 */

const uncurry = Function.prototype.bind.bind(Function.prototype.call) as <A extends unknown[], R>(
  fn: (...args: A) => R,
) => (self: unknown, ...args: A) => R;
const charCodeAt = uncurry(String.prototype.charCodeAt) as (s: string, i: number) => number;
const regexpExec = uncurry(RegExp.prototype.exec) as (re: RegExp, s: string) => RegExpExecArray | null;
const dateSetUTCFullYear = uncurry(Date.prototype.setUTCFullYear) as (
  d: Date,
  y: number,
  m: number,
  day: number,
) => number;
const dateSetUTCHours = uncurry(Date.prototype.setUTCHours) as (
  d: Date,
  h: number,
  m: number,
  s: number,
  ms: number,
) => number;
const DateCtor = Date;
const jsonStringify = JSON.stringify;
const isArray = Array.isArray;
const isFiniteNumber = Number.isFinite;
const objectKeys = Object.keys;
const getPrototypeOf = Object.getPrototypeOf;
const setPrototypeOf = Object.setPrototypeOf;
const hasOwn = Object.hasOwn;
const ObjectPrototype = Object.prototype;
const TypeErrorCtor = TypeError;
const NumberCtor = Number;

/** RADIUS operators of reply attributes (radreply); the first is the default. */
export const REPLY_OPS: readonly string[] = Object.freeze(['=', ':=', '+=']);
/** RADIUS operators of check attributes (radcheck); `==` is the default. */
export const CHECK_OPS: readonly string[] = Object.freeze([
  '=',
  ':=',
  '+=',
  '==',
  '!=',
  '>',
  '>=',
  '<',
  '<=',
  '=~',
  '!~',
  '=*',
  '!*',
]);
/** Longest RADIUS attribute value, in characters (the protocol's limit). */
export const MAX_RADIUS_VALUE = 253;
/** Largest `user.attr` value, in bytes of its UTF-8 JSON text. */
export const MAX_ATTR_VALUE_BYTES = 65_536;
/** Deepest nesting of arrays and objects in a `user.attr` value. */
export const MAX_ATTR_VALUE_DEPTH = 64;
/** Most changes one user's script may make (fields, memberships, attribute rows, attrs). */
export const MAX_CHANGES_PER_USER = 1_000;

/**
 * The length of a text as usrun counts it everywhere (field limits, RADIUS values,
 * `username_length`): Unicode code points, so an emoji is one character.
 */
export function textLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = charCodeAt(s, i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = charCodeAt(s, i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** Bytes of a text in UTF-8 (a lone surrogate counts 3, as it is written replaced). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = charCodeAt(s, i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = charCodeAt(s, i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Milliseconds since the epoch of an ISO-8601 date (`2026-01-31` = 00:00 UTC) or date-time
 * (UTC unless it has an offset: `Z`, `+02:00`, `+0200`, `+02`), or NaN. Impossible dates
 * (`2026-02-30`, `24:00`) are NaN. The one parser of timestamps: filters, the sandbox and the
 * host all read them here.
 */
export function parseIsoTimestamp(text: string): number {
  const m = regexpExec(ISO_TIMESTAMP, text);
  if (m === null) return NaN;
  const year = NumberCtor(m[1]);
  const month = NumberCtor(m[2]);
  const day = NumberCtor(m[3]);
  const hour = NumberCtor(m[4] ?? 0);
  const minute = NumberCtor(m[5] ?? 0);
  const second = NumberCtor(m[6] ?? 0);
  const fraction = m[7];
  let millis = 0;
  if (fraction !== undefined) {
    for (let i = 0; i < 3; i++)
      millis = millis * 10 + (i < fraction.length ? charCodeAt(fraction, i) - 48 : 0);
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > days) return NaN;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  let offset = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const oh = (charCodeAt(zone, 1) - 48) * 10 + charCodeAt(zone, 2) - 48;
    const digits = zone.length === 6 ? 4 : 3;
    const om = zone.length > 3 ? (charCodeAt(zone, digits) - 48) * 10 + charCodeAt(zone, digits + 1) - 48 : 0;
    if (oh > 23 || om > 59) return NaN;
    offset = (charCodeAt(zone, 0) === 45 ? -1 : 1) * (oh * 60 + om);
  }
  // setUTCFullYear, because Date.UTC maps years 0-99 to 1900-1999.
  const date = new DateCtor(0);
  dateSetUTCFullYear(date, year, month - 1, day);
  return dateSetUTCHours(date, hour, minute, second, millis) - offset * 60_000;
}

/** A script value that is not a JSON value; the message names where it is (`value.a[3]`). */
function notJson(path: string, why: string): TypeError {
  return new TypeErrorCtor(path + ' ' + why);
}

function describeKind(v: unknown): string {
  if (typeof v === 'number') return v !== v ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'bigint') return 'a BigInt';
  if (typeof v === 'symbol') return 'a Symbol';
  if (typeof v === 'function') return 'a function';
  if (v === undefined) return 'undefined';
  return 'an object';
}

function keyPath(path: string, key: string): string {
  let plain = key.length > 0 && !(charCodeAt(key, 0) >= 48 && charCodeAt(key, 0) <= 57);
  for (let i = 0; i < key.length && plain; i++) {
    const c = charCodeAt(key, i);
    plain = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
  }
  return plain ? path + '.' + key : path + '[' + jsonStringify(key) + ']';
}

class JsonWriter {
  // Its prototype is null: an index setter a script planted on Array.prototype never sees it.
  private readonly seen: unknown[] = setPrototypeOf([], null) as unknown[];
  constructor(private readonly maxBytes: number) {}
  text = '';
  bytes = 0;

  add(s: string, path: string): void {
    this.text += s;
    this.bytes += utf8Length(s);
    if (this.bytes > this.maxBytes) {
      throw notJson(path, 'makes the value larger than ' + this.maxBytes + ' bytes of JSON');
    }
  }

  value(v: unknown, path: string, depth: number): void {
    switch (typeof v) {
      case 'string':
        this.add(jsonStringify(v), path);
        return;
      case 'boolean':
        this.add(v ? 'true' : 'false', path);
        return;
      case 'number':
        if (!isFiniteNumber(v)) throw notJson(path, 'is ' + describeKind(v) + ', which JSON cannot hold');
        this.add('' + v, path);
        return;
      case 'object':
        if (v === null) {
          this.add('null', path);
          return;
        }
        break;
      default:
        throw notJson(path, 'is ' + describeKind(v) + ', which JSON cannot hold');
    }
    if (depth >= MAX_ATTR_VALUE_DEPTH)
      throw notJson(path, 'is nested deeper than ' + MAX_ATTR_VALUE_DEPTH + ' levels');
    const seen = this.seen;
    for (let i = 0; i < seen.length; i++)
      if (seen[i] === v) throw notJson(path, 'refers back to itself (a cycle)');
    seen[seen.length] = v;
    if (isArray(v)) {
      this.add('[', path);
      const n = v.length;
      for (let i = 0; i < n; i++) {
        const at = path + '[' + i + ']';
        if (!hasOwn(v, i)) throw notJson(at, 'is a hole in a sparse array');
        if (i > 0) this.add(',', at);
        this.value(v[i], at, depth + 1);
      }
      this.add(']', path);
    } else {
      const proto: unknown = getPrototypeOf(v);
      if (proto !== ObjectPrototype && proto !== null) {
        const date = v instanceof DateCtor ? ' (store a Date as text: date.toISOString())' : '';
        throw notJson(path, 'is not a plain object or array' + date);
      }
      this.add('{', path);
      const keys = objectKeys(v);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const at = keyPath(path, key);
        if (i > 0) this.add(',', at);
        this.add(jsonStringify(key) + ':', at);
        this.value((v as Record<string, unknown>)[key], at, depth + 1);
      }
      this.add('}', path);
    }
    seen.length--;
  }
}

/**
 * The JSON text of a `user.attr` value, or a `TypeError` naming the first part of it (`path`,
 * e.g. `value.a[3]`) that is not JSON: NaN, ±Infinity, BigInt, Symbol, functions, `undefined`
 * (also inside objects and arrays), cycles, holes of sparse arrays, objects that are not plain
 * (Map, Date, class instances), nesting deeper than `MAX_ATTR_VALUE_DEPTH`, or more than
 * `maxBytes` of UTF-8 JSON. Checked and written in one walk, so what is checked is what is
 * stored (a getter or a Proxy cannot answer differently the second time). No `toJSON` is called.
 */
export function attrValueJson(value: unknown, path: string, maxBytes: number = MAX_ATTR_VALUE_BYTES): string {
  const w = new JsonWriter(maxBytes);
  w.value(value, path, 0);
  return w.text;
}

/** Why a RADIUS attribute value is refused (it must be a string or a finite number, at most 253 characters as text), or null. */
export function radiusValueProblem(value: unknown): string | null {
  if (
    (typeof value !== 'string' && typeof value !== 'number') ||
    (typeof value === 'number' && !isFiniteNumber(value))
  ) {
    const got = typeof value === 'number' ? describeKind(value) : value === null ? 'null' : typeof value;
    return 'value must be a string or a finite number (got ' + got + ')';
  }
  const n = textLength('' + value);
  return n > MAX_RADIUS_VALUE
    ? 'value must be at most ' + MAX_RADIUS_VALUE + ' characters (got ' + n + ')'
    : null;
}
