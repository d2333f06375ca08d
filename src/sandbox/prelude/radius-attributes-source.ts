/**
 * Prelude fragment: reply and check attributes (FreeRADIUS radreply / radcheck rows):
 * `attribute_add/remove`, `check_attribute_add/remove` and the `user.attributes` /
 * `user.check_attributes` readers. Rows keep their database id; a row the script adds has id null.
 */
export const RADIUS_ATTRIBUTES_SOURCE = String.raw`
function opTable(ops) {
  const t = { __proto__: null };
  for (let i = 0; i < ops.length; i++) t[ops[i]] = true;
  return freeze(t);
}

const REPLY_OPS = ['=', ':=', '+='];
const CHECK_OPS = ['=', ':=', '+=', '==', '!=', '>', '>=', '<', '<=', '=~', '!~', '=*', '!*'];
class RadiusKind {
  constructor(label, ops, defaultOp) {
    this.label = label;
    this.list = label === 'reply' ? 'reply' : 'check';
    this.dirty = label === 'reply' ? 'replyDirty' : 'checkDirty';
    this.snapshot = label === 'reply' ? 'snapReply' : 'snapCheck';
    this.ops = opTable(ops);
    let text = '';
    for (let i = 0; i < ops.length; i++) text += (i === 0 ? '' : ' ') + ops[i];
    this.opsText = text;
    this.defaultOp = defaultOp;
  }
}
record(RadiusKind);

const REPLY = new RadiusKind('reply', REPLY_OPS, '=');
const CHECK = new RadiusKind('check', CHECK_OPS, '==');

class RadiusEntry {
  constructor(id, attr, op, value) {
    this.id = id;
    this.attr = attr;
    this.op = op;
    this.value = value;
  }
}
record(RadiusEntry);

function radiusOf(st, kind) {
  if (st[kind.list] === null) {
    const l = new List();
    const s = st[kind.snapshot];
    if (isArray(s)) {
      for (let i = 0; i < s.length; i++) {
        const r = s[i];
        const id = at(r, 0);
        push(l, new RadiusEntry(id === undefined ? null : id, at(r, 1), at(r, 2), at(r, 3)));
      }
    }
    st[kind.list] = l;
  }
  return st[kind.list];
}

function setRadius(st, kind, l) {
  st[kind.dirty] = true;
  st[kind.list] = l;
}

function isAttrName(s) {
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
function radiusArgs(kind, method, a, b, c, forAdd) {
  let attr = a;
  let value = b;
  let op = c;
  if (a !== null && typeof a === 'object') {
    attr = own(a, 'attr');
    value = own(a, 'value');
    op = own(a, 'operation');
    if (op === undefined) op = own(a, 'op');
  }
  if (!isAttrName(attr)) {
    throw typeError(method + ': attr must be 1 to 64 characters of A-Z a-z 0-9 . _ : - (got ' + shown(attr) + ')');
  }
  let text;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && isFiniteNumber(value)) text = '' + value;
  else throw typeError(method + ': value must be a string or a finite number (got ' + shown(value) + ')');
  if (text.length > 253) throw typeError(method + ': value must be at most 253 characters (got ' + text.length + ')');
  if (op === undefined || op === null) op = forAdd ? kind.defaultOp : undefined;
  else if (typeof op !== 'string' || kind.ops[op] !== true) {
    throw typeError(method + ': operation must be one of ' + kind.opsText + ' (got ' + shown(op) + ')');
  }
  return new RadiusEntry(null, attr, op, text);
}

function rowsText(n) {
  return n === 1 ? '1 row' : n + ' rows';
}

function radiusAdd(kind, method, st, a, b, c) {
  const x = radiusArgs(kind, method, a, b, c, true);
  const l = radiusOf(st, kind);
  const desc = kind.label + ' ' + x.attr + ' ' + x.op + ' ' + x.value;
  if (x.op === ':=') {
    // Replaces every row of the attribute; an identical row is kept with its id.
    let keep = -1;
    let others = 0;
    for (let i = 0; i < l.length; i++) {
      if (l[i].attr !== x.attr) continue;
      if (keep < 0 && l[i].op === ':=' && l[i].value === x.value) keep = i;
      else others++;
    }
    if (keep >= 0 && others === 0) return [false, desc + ' already present'];
    const next = new List();
    for (let i = 0; i < l.length; i++) if (l[i].attr !== x.attr || i === keep) push(next, l[i]);
    if (keep < 0) push(next, new RadiusEntry(null, x.attr, ':=', x.value));
    setRadius(st, kind, next);
    return [true, desc + ' added' + (others > 0 ? ' (replaced ' + rowsText(others) + ')' : '')];
  }
  if (x.op === '=') {
    for (let i = 0; i < l.length; i++) if (l[i].attr === x.attr) return [false, kind.label + ' ' + x.attr + ' already present'];
  } else if (x.op === '+=') {
    for (let i = 0; i < l.length; i++) {
      if (l[i].attr === x.attr && l[i].op === '+=' && l[i].value === x.value) return [false, desc + ' already present'];
    }
  } else {
    // A comparison: the one row with this attribute and operator gets the value.
    let first = -1;
    let dupes = 0;
    for (let i = 0; i < l.length; i++) {
      if (l[i].attr !== x.attr || l[i].op !== x.op) continue;
      if (first < 0) first = i;
      else dupes++;
    }
    if (first >= 0) {
      const old = l[first].value;
      if (old === x.value && dupes === 0) return [false, desc + ' already present'];
      const next = new List();
      for (let i = 0; i < l.length; i++) {
        if (i === first) push(next, new RadiusEntry(l[i].id, x.attr, x.op, x.value));
        else if (l[i].attr !== x.attr || l[i].op !== x.op) push(next, l[i]);
      }
      setRadius(st, kind, next);
      return [true, desc + (old === x.value ? ' kept' : ' updated (was ' + old + ')') + (dupes > 0 ? ', removed ' + rowsText(dupes) : '')];
    }
  }
  const next = new List();
  for (let i = 0; i < l.length; i++) push(next, l[i]);
  push(next, new RadiusEntry(null, x.attr, x.op, x.value));
  setRadius(st, kind, next);
  return [true, desc + ' added'];
}

function radiusRemove(kind, method, st, a, b, c) {
  const x = radiusArgs(kind, method, a, b, c, false);
  const l = radiusOf(st, kind);
  const next = new List();
  let removed = 0;
  let removedOp;
  for (let i = 0; i < l.length; i++) {
    const r = l[i];
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

function radiusView(st, kind) {
  const l = radiusOf(st, kind);
  const r = new List();
  for (let i = 0; i < l.length; i++) push(r, { attr: l[i].attr, op: l[i].op, value: l[i].value });
  return toScriptArray(r);
}

function radiusChanged(st, kind) {
  const l = st[kind.list];
  const s = st[kind.snapshot];
  const n = isArray(s) ? s.length : 0;
  if (l.length !== n) return true;
  for (let i = 0; i < n; i++) {
    const r = s[i];
    if (l[i].attr !== at(r, 1) || l[i].op !== at(r, 2) || l[i].value !== at(r, 3)) return true;
  }
  return false;
}

// 'id,attr,op,value,…' of the final rows.
function radiusJson(l) {
  let s = '';
  for (let i = 0; i < l.length; i++) {
    const r = l[i];
    s += (i === 0 ? '' : ',') + numberJson(r.id) + ',' + quote(r.attr) + ',' + quote(r.op) + ',' + quote(r.value);
  }
  return s;
}
`;
