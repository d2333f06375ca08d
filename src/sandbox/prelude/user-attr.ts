/**
 * Prelude: `user.attr`, the Zato SSO attribute API (SPEC §4, seed
 * zato-sso-user-attr-set.txt). Values are JSON text, serialized at call time. Writes collapse per
 * name into the outcome's `attrs`: the last write wins, an expiry change folds into a pending set,
 * and deleting a name this run created leaves no entry.
 */
import { attrValueJson } from '../../model/value-rules.js';
import type { AttrMethodName, MethodTable } from '../../model/script-api.js';
import { NO_KEY_FAILURE } from '../protocol.js';
import { ATTR_ENCRYPTED, ATTR_JSON, ATTR_NAME } from '../wire-format.js';
import {
  ArrayPrototype,
  DatePrototype,
  ErrorCtor,
  JSON_HOOK_PROTOTYPES,
  List,
  ObjectPrototype,
  at,
  dateToISOStringMethod,
  dateToJSON,
  defineProperty,
  freeze,
  getOwnPropertyDescriptor,
  hasOwn,
  isArray,
  isFiniteNumber,
  jsonParse,
  objectCreate,
  own,
  push,
  record,
  reflectDeleteProperty,
  setPrototypeOf,
  toScriptArray,
  typeError,
} from './intrinsics.js';
import { numberJson, quote, shown } from './values.js';
import { assertOpen } from './fields.js';
import { MAX_CHANGES, cur } from './state.js';
import { handOut, handOutJson, type UserState } from './user-object.js';

// One name the user has, had in its snapshot, or was given by the script.
export class AttrEntry {
  present = true;
  write: AttrWrite | null = null;
  constructor(
    readonly name: string,
    public json: string | null,
    public encrypted: boolean,
    readonly existed: boolean,
  ) {}
}
record(AttrEntry);

class AttrWrite {
  constructor(
    readonly op: 'set' | 'expiry' | 'delete',
    readonly json: string | null,
    public expiration: number | null,
    readonly encrypt: boolean,
  ) {}
}
record(AttrWrite);

// One validated item of a set/create/update call.
class AttrItem {
  constructor(
    readonly name: string,
    readonly json: string,
    readonly expiration: number | null,
    readonly encrypt: boolean,
  ) {}
}
record(AttrItem);

function attrsOf(st: UserState): AttrEntry[] {
  if (st.attrs === null) {
    const l = new List<AttrEntry>();
    const s = st.snapAttrs;
    if (isArray(s)) {
      for (let i = 0; i < s.length; i++) {
        const a: unknown = s[i];
        const name: unknown = at(a, ATTR_NAME);
        const json: unknown = at(a, ATTR_JSON);
        if (typeof name === 'string') {
          push(
            l,
            new AttrEntry(name, typeof json === 'string' ? json : null, at(a, ATTR_ENCRYPTED) === true, true),
          );
        }
      }
    }
    st.attrs = l;
  }
  return st.attrs;
}

function findAttr(st: UserState, name: string): AttrEntry | null {
  const l = attrsOf(st);
  for (let i = 0; i < l.length; i++) if ((l[i] as AttrEntry).name === name) return l[i] as AttrEntry;
  return null;
}

function attrExists(st: UserState, name: string): boolean {
  const e = findAttr(st, name);
  return e !== null && e.present;
}

function attrName(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) {
    throw typeError(what + ' must be a non-empty string of at most 200 characters (got ' + shown(v) + ')');
  }
  return v;
}

function restoreMethod(target: object, name: PropertyKey, original: unknown): void {
  try {
    const d = getOwnPropertyDescriptor(target, name);
    if (d === undefined || !hasOwn(d, 'value') || d.value !== original) {
      defineProperty(target, name, {
        __proto__: null,
        value: original,
        writable: true,
        enumerable: false,
        configurable: true,
      } as PropertyDescriptor);
    }
  } catch {
    // Made non-configurable by a script: it stays as that script left it.
  }
}

// Removes toJSON from the builtin prototypes and index properties from Array.prototype, where
// no script has a business putting them: a user.attr value serializes as plain JSON whatever an
// earlier user (or this one) planted. Run before every serialization and before every user.
export function restoreJsonHooks(): void {
  try {
    for (let i = 0; i < JSON_HOOK_PROTOTYPES.length; i++) {
      const proto = JSON_HOOK_PROTOTYPES[i] as object;
      if (hasOwn(proto, 'toJSON')) reflectDeleteProperty(proto, 'toJSON');
    }
  } catch {
    // Made non-configurable by a script: it stays as that script left it (so below).
  }
  restoreMethod(DatePrototype, 'toJSON', dateToJSON);
  // Date.prototype.toJSON calls this.toISOString().
  restoreMethod(DatePrototype, 'toISOString', dateToISOStringMethod);
  try {
    // Array.prototype is an array: any index property shows in its (non-configurable) length.
    if (ArrayPrototype.length !== 0) ArrayPrototype.length = 0;
  } catch {
    // A throwing getter: read as absent.
  }
}

// The JSON text of a value given to user.attr; a TypeError naming the part that is not JSON
// (value-rules.ts, the same rules the host applies again).
function attrJson(v: unknown, what: string): string {
  return attrValueJson(v, what);
}

function attrExpiration(v: unknown, what: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !isFiniteNumber(v) || v <= 0) {
    throw typeError(what + ' must be a positive number of seconds or null (got ' + shown(v) + ')');
  }
  return v;
}

function attrEncrypt(v: unknown, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw typeError(what + ' must be a boolean (got ' + shown(v) + ')');
  return v;
}

function attrSingle(
  method: string,
  name: unknown,
  value: unknown,
  expiration: unknown,
  encrypt: unknown,
): AttrItem[] {
  const items = new List<AttrItem>();
  push(
    items,
    new AttrItem(
      attrName(name, method + ': name'),
      attrJson(value, method + ': value'),
      attrExpiration(expiration, method + ': expiration'),
      attrEncrypt(encrypt, method + ': encrypt'),
    ),
  );
  return items;
}

// The items of a *_many call, all validated before any is applied.
function attrMany(method: string, data: unknown, expiration: unknown, encrypt: unknown): AttrItem[] {
  if (!isArray(data))
    throw typeError(method + ': data must be an array of {name, value, expiration?, encrypt?}');
  const defaultExpiration = attrExpiration(expiration, method + ': expiration');
  const defaultEncrypt = attrEncrypt(encrypt, method + ': encrypt');
  const items = new List<AttrItem>();
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const d: unknown = data[i];
    const where = method + ': data[' + i + ']';
    if (d === null || typeof d !== 'object')
      throw typeError(where + ' must be an object {name, value, expiration?, encrypt?}');
    const name = attrName(own(d, 'name'), where + '.name');
    const json = attrJson(own(d, 'value'), where + '.value');
    const exp = own(d, 'expiration');
    const enc = own(d, 'encrypt');
    push(
      items,
      new AttrItem(
        name,
        json,
        exp === undefined ? defaultExpiration : attrExpiration(exp, where + '.expiration'),
        enc === undefined ? defaultEncrypt : attrEncrypt(enc, where + '.encrypt'),
      ),
    );
  }
  return items;
}

function attrNameList(method: string, names: unknown): string[] {
  if (!isArray(names)) throw typeError(method + ': names must be an array of strings');
  const r = new List<string>();
  const n = names.length;
  for (let i = 0; i < n; i++) push(r, attrName(names[i], method + ': names[' + i + ']'));
  return r;
}

// create* needs every name absent, update* present: earlier items of the same call count.
function attrCheckPresence(method: string, st: UserState, items: AttrItem[], mustExist: boolean): void {
  for (let i = 0; i < items.length; i++) {
    const name = (items[i] as AttrItem).name;
    let exists = attrExists(st, name);
    for (let j = 0; j < i && !exists; j++) if ((items[j] as AttrItem).name === name) exists = true;
    if (exists !== mustExist) {
      throw new ErrorCtor(
        method + ': attribute ' + quote(name) + (mustExist ? ' does not exist' : ' already exists'),
      );
    }
  }
}

function attrApply(st: UserState, items: AttrItem[]): void {
  for (let i = 0; i < items.length; i++) {
    const x = items[i] as AttrItem;
    let e = findAttr(st, x.name);
    if (e === null) {
      const l = attrsOf(st);
      if (l.length >= MAX_CHANGES) {
        throw typeError(
          'user.attr: more than ' +
            MAX_CHANGES +
            ' attributes for one user; the cap is ' +
            MAX_CHANGES +
            ' changes per user',
        );
      }
      e = new AttrEntry(x.name, x.json, x.encrypt, false);
      push(l, e);
    }
    e.present = true;
    e.json = x.json;
    e.encrypted = x.encrypt;
    e.write = new AttrWrite('set', x.json, x.expiration, x.encrypt);
  }
}

function attrDelete(st: UserState, name: string): boolean {
  const e = findAttr(st, name);
  if (e === null || !e.present) return false;
  e.present = false;
  e.json = null;
  e.write = e.existed ? new AttrWrite('delete', null, null, false) : null;
  return true;
}

function attrValue(method: string, st: UserState, name: string): unknown {
  const e = findAttr(st, name);
  if (e === null || !e.present) return null;
  if (e.json === null) {
    throw new ErrorCtor(
      method + ': attribute ' + quote(name) + ' ' + NO_KEY_FAILURE + ' (set USRUN_KEY or pass --key-file)',
    );
  }
  return handOutJson(st, jsonParse(e.json), 0);
}

function attrOwner(self: unknown, method: string): UserState {
  const st = cur;
  if (st === null || st.attrApi === null || self !== st.attrApi) {
    throw typeError(method + ' must be called on user.attr of the user being run');
  }
  assertOpen(st, method);
  return st;
}

// Exactly the methods `usrun types` declares for user.attr (src/model/script-api.ts).
export const ATTR_PROTO = {
  __proto__: ObjectPrototype,
  set(name: unknown, value: unknown, expiration: unknown, encrypt: unknown) {
    const st = attrOwner(this, 'user.attr.set');
    attrApply(st, attrSingle('user.attr.set', name, value, expiration, encrypt));
  },
  set_many(data: unknown, expiration: unknown, encrypt: unknown) {
    const st = attrOwner(this, 'user.attr.set_many');
    attrApply(st, attrMany('user.attr.set_many', data, expiration, encrypt));
  },
  create(name: unknown, value: unknown, expiration: unknown, encrypt: unknown) {
    const st = attrOwner(this, 'user.attr.create');
    const items = attrSingle('user.attr.create', name, value, expiration, encrypt);
    attrCheckPresence('user.attr.create', st, items, false);
    attrApply(st, items);
  },
  create_many(data: unknown, expiration: unknown, encrypt: unknown) {
    const st = attrOwner(this, 'user.attr.create_many');
    const items = attrMany('user.attr.create_many', data, expiration, encrypt);
    attrCheckPresence('user.attr.create_many', st, items, false);
    attrApply(st, items);
  },
  update(name: unknown, value: unknown, expiration: unknown, encrypt: unknown) {
    const st = attrOwner(this, 'user.attr.update');
    const items = attrSingle('user.attr.update', name, value, expiration, encrypt);
    attrCheckPresence('user.attr.update', st, items, true);
    attrApply(st, items);
  },
  update_many(data: unknown, expiration: unknown, encrypt: unknown) {
    const st = attrOwner(this, 'user.attr.update_many');
    const items = attrMany('user.attr.update_many', data, expiration, encrypt);
    // A name repeated in one call is updated twice; only its first mention must exist.
    const firsts = new List<AttrItem>();
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as AttrItem;
      let repeated = false;
      for (let j = 0; j < i && !repeated; j++) if ((items[j] as AttrItem).name === item.name) repeated = true;
      if (!repeated) push(firsts, item);
    }
    attrCheckPresence('user.attr.update_many', st, firsts, true);
    attrApply(st, items);
  },
  get(name: unknown) {
    const st = attrOwner(this, 'user.attr.get');
    return attrValue('user.attr.get', st, attrName(name, 'user.attr.get: name'));
  },
  get_many(names: unknown) {
    const st = attrOwner(this, 'user.attr.get_many');
    const wanted = attrNameList('user.attr.get_many', names);
    const r: Record<string, unknown> = { __proto__: null } as never;
    for (let i = 0; i < wanted.length; i++) {
      const name = wanted[i] as string;
      r[name] = attrValue('user.attr.get_many', st, name);
    }
    setPrototypeOf(r, ObjectPrototype);
    return handOut(st, r);
  },
  exists(name: unknown) {
    const st = attrOwner(this, 'user.attr.exists');
    return attrExists(st, attrName(name, 'user.attr.exists: name'));
  },
  names() {
    const st = attrOwner(this, 'user.attr.names');
    const l = attrsOf(st);
    const r = new List<string>();
    for (let i = 0; i < l.length; i++) if ((l[i] as AttrEntry).present) push(r, (l[i] as AttrEntry).name);
    return handOut(st, toScriptArray(r));
  },
  delete(name: unknown) {
    const st = attrOwner(this, 'user.attr.delete');
    return attrDelete(st, attrName(name, 'user.attr.delete: name'));
  },
  delete_many(names: unknown) {
    const st = attrOwner(this, 'user.attr.delete_many');
    const gone = attrNameList('user.attr.delete_many', names);
    let n = 0;
    for (let i = 0; i < gone.length; i++) if (attrDelete(st, gone[i] as string)) n++;
    return n;
  },
  set_expiry(name: unknown, seconds: unknown) {
    const st = attrOwner(this, 'user.attr.set_expiry');
    const n = attrName(name, 'user.attr.set_expiry: name');
    if (seconds === undefined) {
      throw typeError(
        'user.attr.set_expiry: seconds must be a positive number of seconds or null (got undefined)',
      );
    }
    const expiration = attrExpiration(seconds, 'user.attr.set_expiry: seconds');
    const e = findAttr(st, n);
    if (e === null || !e.present)
      throw new ErrorCtor('user.attr.set_expiry: attribute ' + quote(n) + ' does not exist');
    if (e.write !== null && e.write.op === 'set') e.write.expiration = expiration;
    else e.write = new AttrWrite('expiry', null, expiration, false);
  },
} satisfies MethodTable<AttrMethodName>;
for (const k in ATTR_PROTO) freeze((ATTR_PROTO as unknown as Record<string, unknown>)[k]);
freeze(ATTR_PROTO);

export function attrApiOf(st: UserState): object {
  if (st.attrApi === null) st.attrApi = freeze(objectCreate(ATTR_PROTO) as object);
  return st.attrApi;
}

// 'name,op,json,expiration,encrypt,…' of the collapsed writes (json null unless op is set), or ''.
export function attrsJson(st: UserState): string {
  const l = st.attrs;
  if (l === null) return '';
  let s = '';
  for (let i = 0; i < l.length; i++) {
    const e = l[i] as AttrEntry;
    const w = e.write;
    if (w === null) continue;
    st.changes++;
    s +=
      (s === '' ? '' : ',') +
      quote(e.name) +
      ',"' +
      w.op +
      '",' +
      (w.op === 'set' ? quote(w.json as string) : 'null') +
      ',' +
      numberJson(w.expiration) +
      ',' +
      (w.encrypt === true ? 'true' : 'false');
  }
  return s;
}
