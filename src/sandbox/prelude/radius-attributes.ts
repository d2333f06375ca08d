/**
 * Prelude: reply and check attributes (FreeRADIUS radreply / radcheck rows):
 * `attribute_add/remove`, `check_attribute_add/remove` and the `user.attributes` /
 * `user.check_attributes` readers. Rows keep their database id; a row the script adds has id null.
 */
import { CHECK_OPS, REPLY_OPS, radiusValueProblem } from '../../model/value-rules.js';
import { RADIUS_ATTR, RADIUS_ID, RADIUS_OP, RADIUS_VALUE } from '../wire-format.js';
import {
  List,
  at,
  charCodeAt,
  freeze,
  isArray,
  own,
  push,
  record,
  toScriptArray,
  typeError,
} from './intrinsics.js';
import { numberJson, quote, shown } from './values.js';
import { handOut, type RadiusSide, type UserState } from './user-object.js';

function opTable(ops: readonly string[]): Record<string, true> {
  const t: Record<string, true> = { __proto__: null } as never;
  for (let i = 0; i < ops.length; i++) t[ops[i] as string] = true;
  return freeze(t);
}

export class RadiusKind {
  readonly ops: Record<string, true>;
  readonly opsText: string;
  constructor(
    readonly label: 'reply' | 'check',
    ops: readonly string[],
    readonly defaultOp: string,
  ) {
    this.ops = opTable(ops);
    let text = '';
    for (let i = 0; i < ops.length; i++) text += (i === 0 ? '' : ' ') + ops[i];
    this.opsText = text;
  }

  side(st: UserState): RadiusSide {
    return this.label === 'reply' ? st.reply : st.check;
  }
}
record(RadiusKind);

export const REPLY = new RadiusKind('reply', REPLY_OPS, '=');
export const CHECK = new RadiusKind('check', CHECK_OPS, '==');

export class RadiusEntry {
  constructor(
    readonly id: number | null,
    readonly attr: string,
    readonly op: string,
    readonly value: string,
  ) {}
}
record(RadiusEntry);

function radiusOf(st: UserState, kind: RadiusKind): RadiusEntry[] {
  const side = kind.side(st);
  if (side.list === null) {
    const l = new List<RadiusEntry>();
    const s = side.snapshot;
    if (isArray(s)) {
      for (let i = 0; i < s.length; i++) {
        const r = s[i];
        const id = at(r, RADIUS_ID);
        push(
          l,
          new RadiusEntry(
            id === undefined ? null : id,
            at(r, RADIUS_ATTR),
            at(r, RADIUS_OP),
            at(r, RADIUS_VALUE),
          ),
        );
      }
    }
    side.list = l;
  }
  return side.list;
}

function setRadius(st: UserState, kind: RadiusKind, l: RadiusEntry[]): void {
  const side = kind.side(st);
  side.dirty = true;
  side.list = l;
}

function isAttrName(s: unknown): s is string {
  if (typeof s !== 'string' || s.length === 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = charCodeAt(s, i);
    const ok =
      (c >= 48 && c <= 58) || // 0-9 and ':'
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      c === 46 || // .
      c === 95 || // _
      c === 45; // -
    if (!ok) return false;
  }
  return true;
}

// {attr, value, op} from either ({attr, value, operation}) or (attr, value, operation).
function radiusArgs(
  kind: RadiusKind,
  method: string,
  a: unknown,
  b: unknown,
  c: unknown,
  forAdd: boolean,
): RadiusEntry {
  let attr = a;
  let value = b;
  let op: unknown = c;
  if (a !== null && typeof a === 'object') {
    attr = own(a, 'attr');
    value = own(a, 'value');
    op = own(a, 'operation');
    if (op === undefined) op = own(a, 'op');
  }
  if (!isAttrName(attr)) {
    throw typeError(
      method + ': attr must be 1 to 64 characters of A-Z a-z 0-9 . _ : - (got ' + shown(attr) + ')',
    );
  }
  const problem = radiusValueProblem(value);
  if (problem !== null) throw typeError(method + ': ' + problem);
  const text = '' + (value as string | number);
  if (op === undefined || op === null) op = forAdd ? kind.defaultOp : undefined;
  else if (typeof op !== 'string' || kind.ops[op] !== true) {
    throw typeError(method + ': operation must be one of ' + kind.opsText + ' (got ' + shown(op) + ')');
  }
  return new RadiusEntry(null, attr, op as string, text);
}

function rowsText(n: number): string {
  return n === 1 ? '1 row' : n + ' rows';
}

export function radiusAdd(
  kind: RadiusKind,
  method: string,
  st: UserState,
  a: unknown,
  b: unknown,
  c: unknown,
): [boolean, string] {
  const x = radiusArgs(kind, method, a, b, c, true);
  const l = radiusOf(st, kind);
  const desc = kind.label + ' ' + x.attr + ' ' + x.op + ' ' + x.value;
  if (x.op === ':=') {
    // Replaces every row of the attribute; an identical row is kept with its id.
    let keep = -1;
    let others = 0;
    for (let i = 0; i < l.length; i++) {
      if ((l[i] as RadiusEntry).attr !== x.attr) continue;
      if (keep < 0 && (l[i] as RadiusEntry).op === ':=' && (l[i] as RadiusEntry).value === x.value) keep = i;
      else others++;
    }
    if (keep >= 0 && others === 0) return [false, desc + ' already present'];
    const next = new List();
    for (let i = 0; i < l.length; i++)
      if ((l[i] as RadiusEntry).attr !== x.attr || i === keep) push(next, l[i] as RadiusEntry);
    if (keep < 0) push(next, new RadiusEntry(null, x.attr, ':=', x.value));
    setRadius(st, kind, next);
    return [true, desc + ' added' + (others > 0 ? ' (replaced ' + rowsText(others) + ')' : '')];
  }
  if (x.op === '=') {
    for (let i = 0; i < l.length; i++)
      if ((l[i] as RadiusEntry).attr === x.attr)
        return [false, kind.label + ' ' + x.attr + ' already present'];
  } else if (x.op === '+=') {
    for (let i = 0; i < l.length; i++) {
      if (
        (l[i] as RadiusEntry).attr === x.attr &&
        (l[i] as RadiusEntry).op === '+=' &&
        (l[i] as RadiusEntry).value === x.value
      )
        return [false, desc + ' already present'];
    }
  } else {
    // A comparison: the one row with this attribute and operator gets the value.
    let first = -1;
    let dupes = 0;
    for (let i = 0; i < l.length; i++) {
      if ((l[i] as RadiusEntry).attr !== x.attr || (l[i] as RadiusEntry).op !== x.op) continue;
      if (first < 0) first = i;
      else dupes++;
    }
    if (first >= 0) {
      const old = (l[first] as RadiusEntry).value;
      if (old === x.value && dupes === 0) return [false, desc + ' already present'];
      const next = new List();
      for (let i = 0; i < l.length; i++) {
        if (i === first) push(next, new RadiusEntry((l[i] as RadiusEntry).id, x.attr, x.op, x.value));
        else if ((l[i] as RadiusEntry).attr !== x.attr || (l[i] as RadiusEntry).op !== x.op)
          push(next, l[i] as RadiusEntry);
      }
      setRadius(st, kind, next);
      return [
        true,
        desc +
          (old === x.value ? ' kept' : ' updated (was ' + old + ')') +
          (dupes > 0 ? ', removed ' + rowsText(dupes) : ''),
      ];
    }
  }
  const next = new List();
  for (let i = 0; i < l.length; i++) push(next, l[i] as RadiusEntry);
  push(next, new RadiusEntry(null, x.attr, x.op, x.value));
  setRadius(st, kind, next);
  return [true, desc + ' added'];
}

export function radiusRemove(
  kind: RadiusKind,
  method: string,
  st: UserState,
  a: unknown,
  b: unknown,
  c: unknown,
): [boolean, string] {
  const x = radiusArgs(kind, method, a, b, c, false);
  const l = radiusOf(st, kind);
  const next = new List();
  let removed = 0;
  let removedOp: string | undefined;
  for (let i = 0; i < l.length; i++) {
    const r = l[i] as RadiusEntry;
    if (r.attr === x.attr && r.value === x.value && (x.op === undefined || r.op === x.op)) {
      removed++;
      removedOp = r.op;
    } else push(next, r);
  }
  const op = x.op !== undefined ? x.op : removed === 1 ? removedOp : undefined;
  const desc = kind.label + ' ' + x.attr + ' ' + (op !== undefined ? op + ' ' : '') + x.value;
  if (removed === 0) return [false, desc + ' not present'];
  setRadius(st, kind, next);
  return [true, desc + ' removed' + (removed > 1 ? ' (' + rowsText(removed) + ')' : '')];
}

export function radiusView(st: UserState, kind: RadiusKind): { attr: string; op: string; value: string }[] {
  const l = radiusOf(st, kind);
  const r = new List();
  for (let i = 0; i < l.length; i++)
    push(
      r,
      handOut(st, {
        attr: (l[i] as RadiusEntry).attr,
        op: (l[i] as RadiusEntry).op,
        value: (l[i] as RadiusEntry).value,
      }),
    );
  return handOut(st, toScriptArray(r));
}

export function radiusChanged(side: RadiusSide): boolean {
  const l = side.list;
  if (l === null || !side.dirty) return false;
  const s = side.snapshot;
  const n = isArray(s) ? s.length : 0;
  if (l.length !== n) return true;
  for (let i = 0; i < n; i++) {
    const r: unknown = at(s, i);
    const e = l[i] as RadiusEntry;
    if (e.attr !== at(r, RADIUS_ATTR) || e.op !== at(r, RADIUS_OP) || e.value !== at(r, RADIUS_VALUE))
      return true;
  }
  return false;
}

// 'id,attr,op,value,…' of the final rows.
export function radiusJson(l: readonly RadiusEntry[]): string {
  let s = '';
  for (let i = 0; i < l.length; i++) {
    const r = l[i] as RadiusEntry;
    s +=
      (i === 0 ? '' : ',') +
      numberJson(r.id) +
      ',' +
      quote(r.attr) +
      ',' +
      quote(r.op) +
      ',' +
      quote(r.value);
  }
  return s;
}
