/**
 * Prelude: the user's fields (SPEC §2, table from `src/store/user-fields.ts`). Reads see
 * the script's assignments; timestamps are kept as epoch milliseconds and read as fresh Dates.
 * Uses `FIELD_LIST` from state.ts.
 */
import {
  DateCtor,
  List,
  at,
  dateGetTime,
  freeze,
  isSafeInteger,
  own,
  push,
  record,
  typeError,
} from './intrinsics.js';
import { textLength } from '../../model/value-rules.js';
import { isoOf, parseIso, quote, shown } from './values.js';
import { FIELD_LIST } from './state.js';
import type { UserState } from './user-object.js';

export class FieldSpec {
  readonly name: string;
  readonly type: 'integer' | 'string' | 'boolean' | 'timestamp';
  readonly writable: boolean;
  readonly nullable: boolean;
  readonly maxLength: number | undefined;
  constructor(
    raw: unknown,
    readonly index: number,
  ) {
    const maxLength = own(raw, 'maxLength');
    this.name = own(raw, 'name');
    this.type = own(raw, 'type');
    this.writable = own(raw, 'writable') === true;
    this.nullable = own(raw, 'nullable') === true;
    this.maxLength = typeof maxLength === 'number' ? maxLength : undefined;
  }
}
record(FieldSpec);

// Marks a field the script has not assigned in st.values.
export const UNSET = freeze({ __proto__: null });

export function assertOpen(st: UserState, what: string): void {
  if (st.closed) throw typeError(what + ': the script run of this user has ended');
}

// A field's value in the snapshot (timestamps as epoch ms).
function snapshotField(st: UserState, f: FieldSpec): unknown {
  const v = at(st.snapFields, f.index);
  if (v === undefined || v === null) return null;
  if (f.type === 'timestamp') {
    const ms = typeof v === 'string' ? parseIso(v) : NaN;
    return ms === ms ? ms : null;
  }
  return v;
}

function currentField(st: UserState, f: FieldSpec): unknown {
  const v = st.values === null ? UNSET : st.values[f.index];
  return v === UNSET ? snapshotField(st, f) : v;
}

export function readField(st: UserState, f: FieldSpec): unknown {
  const v = currentField(st, f);
  return f.type === 'timestamp' && v !== null ? new DateCtor(v as number) : v;
}

// The stored form of an assigned value, or a TypeError naming the field.
function normalizeField(f: FieldSpec, value: unknown): unknown {
  const label = 'user.' + f.name;
  const orNull = f.nullable ? ' or null' : '';
  if (value === null) {
    if (!f.nullable) throw typeError(label + ' cannot be null');
    return null;
  }
  switch (f.type) {
    case 'string':
      if (typeof value !== 'string')
        throw typeError(label + ' must be a string' + orNull + ' (got ' + shown(value) + ')');
      if (!f.nullable && value === '') throw typeError(label + ' must not be empty');
      if (f.maxLength !== undefined && textLength(value) > f.maxLength) {
        throw typeError(
          label + ' must be at most ' + f.maxLength + ' characters (got ' + textLength(value) + ')',
        );
      }
      return value;
    case 'integer':
      if (typeof value !== 'number' || !isSafeInteger(value)) {
        throw typeError(label + ' must be an integer' + orNull + ' (got ' + shown(value) + ')');
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean')
        throw typeError(label + ' must be a boolean' + orNull + ' (got ' + shown(value) + ')');
      return value;
    case 'timestamp': {
      let ms = NaN;
      if (typeof value === 'string') ms = parseIso(value);
      else if (typeof value === 'object') {
        try {
          ms = dateGetTime(value);
        } catch {
          // Not a Date: getTime's brand check failed.
        }
      }
      if (ms !== ms) {
        const what =
          typeof value === 'object' && ms !== ms && isDate(value) ? 'an invalid Date' : shown(value);
        throw typeError(label + ' must be a valid Date, an ISO-8601 string' + orNull + ' (got ' + what + ')');
      }
      return ms;
    }
    default:
      throw typeError(label + ' has an unknown type');
  }
}

export function writeField(st: UserState, f: FieldSpec, value: unknown): void {
  if (!f.writable) throw typeError('user.' + f.name + ' is read-only');
  assertOpen(st, 'user.' + f.name);
  const v = normalizeField(f, value);
  if (st.values === null) {
    const values = new List<unknown>();
    for (let i = 0; i < FIELD_LIST.length; i++) push(values, UNSET);
    st.values = values;
  }
  st.values[f.index] = v;
}

function fieldJson(f: FieldSpec, v: unknown): string {
  if (v === null) return 'null';
  if (f.type === 'timestamp') return quote(isoOf(v as number));
  if (f.type === 'string') return quote(v as string);
  if (f.type === 'boolean') return v ? 'true' : 'false';
  return '' + v;
}

// 'index,value,…' (USER_FIELDS order) for the assigned fields whose value differs from the
// snapshot, or ''.
export function fieldsJson(st: UserState): string {
  const values = st.values;
  if (values === null) return '';
  let s = '';
  for (let i = 0; i < FIELD_LIST.length; i++) {
    const f = FIELD_LIST[i] as FieldSpec;
    const v = values[i];
    if (v === UNSET || v === snapshotField(st, f)) continue;
    st.changes++;
    s += (s === '' ? '' : ',') + i + ',' + fieldJson(f, v);
  }
  return s;
}

function isDate(v: object): boolean {
  try {
    dateGetTime(v);
    return true;
  } catch {
    return false;
  }
}
