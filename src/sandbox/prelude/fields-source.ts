/**
 * Prelude fragment: the user's fields (SPEC §2, table from `src/store/user-fields.ts`). Reads see
 * the script's assignments; timestamps are kept as epoch milliseconds and read as fresh Dates.
 * Uses `FIELD` / `FIELD_LIST` from the runner fragment.
 */
export const FIELDS_SOURCE = String.raw`
class FieldSpec {
  constructor(raw, index) {
    const maxLength = own(raw, 'maxLength');
    this.name = own(raw, 'name');
    this.type = own(raw, 'type');
    this.writable = own(raw, 'writable') === true;
    this.nullable = own(raw, 'nullable') === true;
    this.maxLength = typeof maxLength === 'number' ? maxLength : undefined;
    this.index = index;
  }
}
record(FieldSpec);

// Marks a field the script has not assigned in st.values.
const UNSET = freeze({ __proto__: null });

function assertOpen(st, what) {
  if (st.closed) throw typeError(what + ': the script run of this user has ended');
}

function snapshotField(st, f) {
  const v = at(st.snapFields, f.index);
  if (v === undefined || v === null) return null;
  if (f.type === 'timestamp') {
    const ms = typeof v === 'string' ? parseIso(v) : NaN;
    return ms === ms ? ms : null;
  }
  return v;
}

function currentField(st, f) {
  const v = st.values === null ? UNSET : st.values[f.index];
  return v === UNSET ? snapshotField(st, f) : v;
}

function readField(st, f) {
  const v = currentField(st, f);
  return f.type === 'timestamp' && v !== null ? new DateCtor(v) : v;
}

// The stored form of an assigned value, or a TypeError naming the field.
function normalizeField(f, value) {
  const label = 'user.' + f.name;
  const orNull = f.nullable ? ' or null' : '';
  if (value === null) {
    if (!f.nullable) throw typeError(label + ' cannot be null');
    return null;
  }
  switch (f.type) {
    case 'string':
      if (typeof value !== 'string') throw typeError(label + ' must be a string' + orNull + ' (got ' + shown(value) + ')');
      if (!f.nullable && value === '') throw typeError(label + ' must not be empty');
      if (f.maxLength !== undefined && value.length > f.maxLength) {
        throw typeError(label + ' must be at most ' + f.maxLength + ' characters (got ' + value.length + ')');
      }
      return value;
    case 'integer':
      if (typeof value !== 'number' || !isSafeInteger(value)) {
        throw typeError(label + ' must be an integer' + orNull + ' (got ' + shown(value) + ')');
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw typeError(label + ' must be a boolean' + orNull + ' (got ' + shown(value) + ')');
      return value;
    case 'timestamp': {
      let ms = NaN;
      if (typeof value === 'string') ms = parseIso(value);
      else if (typeof value === 'object') {
        try {
          ms = dateGetTime(value);
        } catch (_) {
          // Not a Date: getTime's brand check failed.
        }
      }
      if (ms !== ms) {
        throw typeError(label + ' must be a valid Date, an ISO-8601 string' + orNull + ' (got ' + shown(value) + ')');
      }
      return ms;
    }
    default:
      throw typeError(label + ' has an unknown type');
  }
}

function writeField(st, f, value) {
  if (!f.writable) throw typeError('user.' + f.name + ' is read-only');
  assertOpen(st, 'user.' + f.name);
  const v = normalizeField(f, value);
  if (st.values === null) {
    const values = new List();
    for (let i = 0; i < FIELD_LIST.length; i++) push(values, UNSET);
    st.values = values;
  }
  st.values[f.index] = v;
}

function fieldJson(f, v) {
  if (v === null) return 'null';
  if (f.type === 'timestamp') return quote(isoOf(v));
  if (f.type === 'string') return quote(v);
  if (f.type === 'boolean') return v ? 'true' : 'false';
  return '' + v;
}

// 'index,value,…' (USER_FIELDS order) for the assigned fields whose value differs from the
// snapshot, or ''.
function fieldsJson(st) {
  const values = st.values;
  if (values === null) return '';
  let s = '';
  for (let i = 0; i < FIELD_LIST.length; i++) {
    const f = FIELD_LIST[i];
    const v = values[i];
    if (v === UNSET || v === snapshotField(st, f)) continue;
    s += (s === '' ? '' : ',') + i + ',' + fieldJson(f, v);
  }
  return s;
}
`;
