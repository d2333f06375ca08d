import { NO_KEY_FAILURE } from '../protocol.js';

/**
 * Prelude fragment: `user.attr`, the Zato SSO attribute API (SPEC §4, seed
 * zato-sso-user-attr-set.txt). Values are JSON text, serialized at call time. Writes collapse per
 * name into the outcome's `attrs`: the last write wins, an expiry change folds into a pending set,
 * and deleting a name this run created leaves no entry.
 */
export const USER_ATTR_SOURCE = String.raw`
// One name the user has, had in its snapshot, or was given by the script.
class AttrEntry {
  constructor(name, json, encrypted, existed) {
    this.name = name;
    this.json = json;
    this.encrypted = encrypted;
    this.existed = existed;
    this.present = true;
    this.write = null;
  }
}
record(AttrEntry);

class AttrWrite {
  constructor(op, json, expiration, encrypt) {
    this.op = op;
    this.json = json;
    this.expiration = expiration;
    this.encrypt = encrypt;
  }
}
record(AttrWrite);

// One validated item of a set/create/update call.
class AttrItem {
  constructor(name, json, expiration, encrypt) {
    this.name = name;
    this.json = json;
    this.expiration = expiration;
    this.encrypt = encrypt;
  }
}
record(AttrItem);

function attrsOf(st) {
  if (st.attrs === null) {
    const l = new List();
    const s = st.snapAttrs;
    if (isArray(s)) {
      for (let i = 0; i < s.length; i++) {
        const a = s[i];
        const name = at(a, 0);
        const json = at(a, 1);
        if (typeof name === 'string') push(l, new AttrEntry(name, typeof json === 'string' ? json : null, at(a, 2) === true, true));
      }
    }
    st.attrs = l;
  }
  return st.attrs;
}

function findAttr(st, name) {
  const l = attrsOf(st);
  for (let i = 0; i < l.length; i++) if (l[i].name === name) return l[i];
  return null;
}

function attrExists(st, name) {
  const e = findAttr(st, name);
  return e !== null && e.present;
}

function attrName(v, what) {
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) {
    throw typeError(what + ' must be a non-empty string of at most 200 characters (got ' + shown(v) + ')');
  }
  return v;
}

function restoreMethod(target, name, original) {
  try {
    const d = getOwnPropertyDescriptor(target, name);
    if (d === undefined || !hasOwn(d, 'value') || d.value !== original) {
      defineProperty(target, name, { __proto__: null, value: original, writable: true, enumerable: false, configurable: true });
    }
  } catch (_) {
    // Made non-configurable by a script: it stays as that script left it.
  }
}

// Removes toJSON from the builtin prototypes and index properties from Array.prototype, where
// no script has a business putting them: a user.attr value serializes as plain JSON whatever an
// earlier user (or this one) planted. Run before every serialization and before every user.
function restoreJsonHooks() {
  try {
    for (let i = 0; i < JSON_HOOK_PROTOTYPES.length; i++) {
      if (hasOwn(JSON_HOOK_PROTOTYPES[i], 'toJSON')) reflectDeleteProperty(JSON_HOOK_PROTOTYPES[i], 'toJSON');
    }
  } catch (_) {
    // Made non-configurable by a script: it stays as that script left it (so below).
  }
  restoreMethod(DatePrototype, 'toJSON', dateToJSON);
  // Date.prototype.toJSON calls this.toISOString().
  restoreMethod(DatePrototype, 'toISOString', dateToISOStringMethod);
  try {
    // Array.prototype is an array: any index property shows in its (non-configurable) length.
    if (ArrayPrototype.length !== 0) ArrayPrototype.length = 0;
  } catch (_) {}
}

function attrJson(v, what) {
  restoreJsonHooks();
  let json;
  try {
    json = jsonStringify(v);
  } catch (e) {
    throw typeError(what + ' is not JSON-serializable: ' + describeThrown(e).message);
  }
  if (typeof json !== 'string') throw typeError(what + ' is not JSON-serializable (got ' + typeName(v) + ')');
  return json;
}

function attrExpiration(v, what) {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !isFiniteNumber(v) || v <= 0) {
    throw typeError(what + ' must be a positive number of seconds or null (got ' + shown(v) + ')');
  }
  return v;
}

function attrEncrypt(v, what) {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw typeError(what + ' must be a boolean (got ' + shown(v) + ')');
  return v;
}

function attrSingle(method, name, value, expiration, encrypt) {
  const items = new List();
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
function attrMany(method, data, expiration, encrypt) {
  if (!isArray(data)) throw typeError(method + ': data must be an array of {name, value, expiration?, encrypt?}');
  const defaultExpiration = attrExpiration(expiration, method + ': expiration');
  const defaultEncrypt = attrEncrypt(encrypt, method + ': encrypt');
  const items = new List();
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const d = data[i];
    const where = method + ': data[' + i + ']';
    if (d === null || typeof d !== 'object') throw typeError(where + ' must be an object {name, value, expiration?, encrypt?}');
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

function attrNameList(method, names) {
  if (!isArray(names)) throw typeError(method + ': names must be an array of strings');
  const r = new List();
  const n = names.length;
  for (let i = 0; i < n; i++) push(r, attrName(names[i], method + ': names[' + i + ']'));
  return r;
}

// create* needs every name absent, update* present: earlier items of the same call count.
function attrCheckPresence(method, st, items, mustExist) {
  for (let i = 0; i < items.length; i++) {
    const name = items[i].name;
    let exists = attrExists(st, name);
    for (let j = 0; j < i && !exists; j++) if (items[j].name === name) exists = true;
    if (exists !== mustExist) {
      throw new ErrorCtor(method + ': attribute ' + quote(name) + (mustExist ? ' does not exist' : ' already exists'));
    }
  }
}

function attrApply(st, items) {
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    let e = findAttr(st, x.name);
    if (e === null) {
      e = new AttrEntry(x.name, x.json, x.encrypt, false);
      push(st.attrs, e);
    }
    e.present = true;
    e.json = x.json;
    e.encrypted = x.encrypt;
    e.write = new AttrWrite('set', x.json, x.expiration, x.encrypt);
  }
}

function attrDelete(st, name) {
  const e = findAttr(st, name);
  if (e === null || !e.present) return false;
  e.present = false;
  e.json = null;
  e.write = e.existed ? new AttrWrite('delete', null, null, false) : null;
  return true;
}

function attrValue(method, st, name) {
  const e = findAttr(st, name);
  if (e === null || !e.present) return null;
  if (e.json === null) {
    throw new ErrorCtor(method + ': attribute ' + quote(name) + ' ${NO_KEY_FAILURE} (set USRUN_KEY or pass --key-file)');
  }
  return jsonParse(e.json);
}

function attrOwner(self, method) {
  const st = cur;
  if (st === null || st.attrApi === null || self !== st.attrApi) {
    throw typeError(method + ' must be called on user.attr of the user being run');
  }
  assertOpen(st, method);
  return st;
}

const ATTR_PROTO = {
  __proto__: ObjectPrototype,
  set(name, value, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.set');
    attrApply(st, attrSingle('user.attr.set', name, value, expiration, encrypt));
  },
  set_many(data, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.set_many');
    attrApply(st, attrMany('user.attr.set_many', data, expiration, encrypt));
  },
  create(name, value, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.create');
    const items = attrSingle('user.attr.create', name, value, expiration, encrypt);
    attrCheckPresence('user.attr.create', st, items, false);
    attrApply(st, items);
  },
  create_many(data, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.create_many');
    const items = attrMany('user.attr.create_many', data, expiration, encrypt);
    attrCheckPresence('user.attr.create_many', st, items, false);
    attrApply(st, items);
  },
  update(name, value, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.update');
    const items = attrSingle('user.attr.update', name, value, expiration, encrypt);
    attrCheckPresence('user.attr.update', st, items, true);
    attrApply(st, items);
  },
  update_many(data, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.update_many');
    const items = attrMany('user.attr.update_many', data, expiration, encrypt);
    // A name repeated in one call is updated twice; only its first mention must exist.
    const firsts = new List();
    for (let i = 0; i < items.length; i++) {
      let repeated = false;
      for (let j = 0; j < i && !repeated; j++) if (items[j].name === items[i].name) repeated = true;
      if (!repeated) push(firsts, items[i]);
    }
    attrCheckPresence('user.attr.update_many', st, firsts, true);
    attrApply(st, items);
  },
  get(name) {
    const st = attrOwner(this, 'user.attr.get');
    return attrValue('user.attr.get', st, attrName(name, 'user.attr.get: name'));
  },
  get_many(names) {
    const st = attrOwner(this, 'user.attr.get_many');
    const wanted = attrNameList('user.attr.get_many', names);
    const r = { __proto__: null };
    for (let i = 0; i < wanted.length; i++) r[wanted[i]] = attrValue('user.attr.get_many', st, wanted[i]);
    setPrototypeOf(r, ObjectPrototype);
    return r;
  },
  exists(name) {
    const st = attrOwner(this, 'user.attr.exists');
    return attrExists(st, attrName(name, 'user.attr.exists: name'));
  },
  names() {
    const st = attrOwner(this, 'user.attr.names');
    const l = attrsOf(st);
    const r = new List();
    for (let i = 0; i < l.length; i++) if (l[i].present) push(r, l[i].name);
    return toScriptArray(r);
  },
  delete(name) {
    const st = attrOwner(this, 'user.attr.delete');
    return attrDelete(st, attrName(name, 'user.attr.delete: name'));
  },
  delete_many(names) {
    const st = attrOwner(this, 'user.attr.delete_many');
    const gone = attrNameList('user.attr.delete_many', names);
    let n = 0;
    for (let i = 0; i < gone.length; i++) if (attrDelete(st, gone[i])) n++;
    return n;
  },
  set_expiry(name, seconds) {
    const st = attrOwner(this, 'user.attr.set_expiry');
    const n = attrName(name, 'user.attr.set_expiry: name');
    if (seconds === undefined) {
      throw typeError('user.attr.set_expiry: seconds must be a positive number of seconds or null (got undefined)');
    }
    const expiration = attrExpiration(seconds, 'user.attr.set_expiry: seconds');
    const e = findAttr(st, n);
    if (e === null || !e.present) throw new ErrorCtor('user.attr.set_expiry: attribute ' + quote(n) + ' does not exist');
    if (e.write !== null && e.write.op === 'set') e.write.expiration = expiration;
    else e.write = new AttrWrite('expiry', null, expiration, false);
  },
};
for (const k in ATTR_PROTO) freeze(ATTR_PROTO[k]);
freeze(ATTR_PROTO);

function attrApiOf(st) {
  if (st.attrApi === null) st.attrApi = freeze(objectCreate(ATTR_PROTO));
  return st.attrApi;
}

// 'name,op,json,expiration,encrypt,…' of the collapsed writes (json null unless op is set), or ''.
function attrsJson(st) {
  const l = st.attrs;
  if (l === null) return '';
  let s = '';
  for (let i = 0; i < l.length; i++) {
    const w = l[i].write;
    if (w === null) continue;
    s +=
      (s === '' ? '' : ',') +
      quote(l[i].name) + ',"' + w.op + '",' +
      (w.op === 'set' ? quote(w.json) : 'null') + ',' +
      numberJson(w.expiration) + ',' +
      (w.encrypt === true ? 'true' : 'false');
  }
  return s;
}
`;
