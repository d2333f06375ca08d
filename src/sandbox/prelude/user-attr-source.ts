/**
 * Prelude fragment: `user.attr`, the Zato SSO attribute API (SPEC §4, seed
 * zato-sso-user-attr-set.txt). Values are JSON text, serialized at call time. Writes collapse per
 * name into the outcome's `attrs`: the last write wins, an expiry change folds into a pending set,
 * and deleting a name this run created leaves no entry.
 */
export const USER_ATTR_SOURCE = String.raw`
function attrsOf(st) {
  if (st.attrCur === null) {
    const cur = { __proto__: null };
    const existed = { __proto__: null };
    const s = st.snapAttrs;
    if (isArray(s)) {
      for (let i = 0; i < s.length; i++) {
        const a = s[i];
        const name = own(a, 'name');
        if (typeof name !== 'string') continue;
        const json = own(a, 'json');
        cur[name] = { __proto__: null, json: typeof json === 'string' ? json : null, encrypted: own(a, 'encrypted') === true };
        existed[name] = true;
      }
    }
    st.attrCur = cur;
    st.attrExisted = existed;
    st.attrWrites = { __proto__: null };
  }
  return st.attrCur;
}

function attrName(v, what) {
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) {
    throw typeError(what + ' must be a non-empty string of at most 200 characters (got ' + shown(v) + ')');
  }
  return v;
}

function attrJson(v, what) {
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

// The {name, json, expiration, encrypt} items of a *_many call, all validated before any applies.
function attrItems(method, data, expiration, encrypt) {
  if (!isArray(data)) throw typeError(method + ': data must be an array of {name, value, expiration?, encrypt?}');
  const defaultExpiration = attrExpiration(expiration, method + ': expiration');
  const defaultEncrypt = attrEncrypt(encrypt, method + ': encrypt');
  const items = list();
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const d = data[i];
    const where = method + ': data[' + i + ']';
    if (d === null || typeof d !== 'object') throw typeError(where + ' must be an object {name, value, expiration?, encrypt?}');
    const name = attrName(d.name, where + '.name');
    const json = attrJson(d.value, where + '.value');
    const exp = d.expiration;
    const enc = d.encrypt;
    push(items, {
      __proto__: null,
      name: name,
      json: json,
      expiration: exp === undefined ? defaultExpiration : attrExpiration(exp, where + '.expiration'),
      encrypt: enc === undefined ? defaultEncrypt : attrEncrypt(enc, where + '.encrypt'),
    });
  }
  return items;
}

function attrNames(method, names) {
  if (!isArray(names)) throw typeError(method + ': names must be an array of strings');
  const r = list();
  const n = names.length;
  for (let i = 0; i < n; i++) push(r, attrName(names[i], method + ': names[' + i + ']'));
  return r;
}

function attrSet(st, name, json, expiration, encrypt) {
  attrsOf(st)[name] = { __proto__: null, json: json, encrypted: encrypt };
  st.attrWrites[name] = { __proto__: null, op: 'set', json: json, expiration: expiration, encrypt: encrypt };
}

function attrDelete(st, name) {
  const cur = attrsOf(st);
  if (!(name in cur)) return false;
  delete cur[name];
  if (st.attrExisted[name] === true) st.attrWrites[name] = { __proto__: null, op: 'delete' };
  else delete st.attrWrites[name];
  return true;
}

// Checks that each name exists (or does not), counting earlier items of the same call.
function attrCheckPresence(method, st, items, mustExist) {
  const cur = attrsOf(st);
  const seen = { __proto__: null };
  for (let i = 0; i < items.length; i++) {
    const name = items[i].name;
    const exists = name in seen || name in cur;
    if (exists !== mustExist) {
      throw new ErrorCtor(method + ': attribute ' + quote(name) + (mustExist ? ' does not exist' : ' already exists'));
    }
    seen[name] = true;
  }
}

function attrValue(method, st, name) {
  const a = attrsOf(st)[name];
  if (a === undefined) return null;
  if (a.json === null) {
    throw new ErrorCtor(method + ': attribute ' + quote(name) + ' is encrypted and this run has no key (set USRUN_KEY or pass --key-file)');
  }
  return jsonParse(a.json);
}

function attrOwner(self, method) {
  const st = weakMapGet(owners, self);
  if (st === undefined) throw typeError(method + ' must be called on user.attr');
  assertOpen(st, method);
  return st;
}

function single(method, name, value, expiration, encrypt) {
  return {
    __proto__: null,
    name: attrName(name, method + ': name'),
    json: attrJson(value, method + ': value'),
    expiration: attrExpiration(expiration, method + ': expiration'),
    encrypt: attrEncrypt(encrypt, method + ': encrypt'),
  };
}

function applyItems(st, items) {
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    attrSet(st, x.name, x.json, x.expiration, x.encrypt);
  }
}

function singleItem(x) {
  const items = list();
  push(items, x);
  return items;
}

const ATTR_PROTO = {
  __proto__: ObjectPrototype,
  set(name, value, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.set');
    applyItems(st, singleItem(single('user.attr.set', name, value, expiration, encrypt)));
  },
  set_many(data, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.set_many');
    applyItems(st, attrItems('user.attr.set_many', data, expiration, encrypt));
  },
  create(name, value, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.create');
    const items = singleItem(single('user.attr.create', name, value, expiration, encrypt));
    attrCheckPresence('user.attr.create', st, items, false);
    applyItems(st, items);
  },
  create_many(data, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.create_many');
    const items = attrItems('user.attr.create_many', data, expiration, encrypt);
    attrCheckPresence('user.attr.create_many', st, items, false);
    applyItems(st, items);
  },
  update(name, value, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.update');
    const items = singleItem(single('user.attr.update', name, value, expiration, encrypt));
    attrCheckPresence('user.attr.update', st, items, true);
    applyItems(st, items);
  },
  update_many(data, expiration, encrypt) {
    const st = attrOwner(this, 'user.attr.update_many');
    const items = attrItems('user.attr.update_many', data, expiration, encrypt);
    const seen = { __proto__: null };
    const firsts = list();
    // A name repeated in one update_many updates twice; only its first mention must exist.
    for (let i = 0; i < items.length; i++) {
      if (!(items[i].name in seen)) push(firsts, items[i]);
      seen[items[i].name] = true;
    }
    attrCheckPresence('user.attr.update_many', st, firsts, true);
    applyItems(st, items);
  },
  get(name) {
    const st = attrOwner(this, 'user.attr.get');
    return attrValue('user.attr.get', st, attrName(name, 'user.attr.get: name'));
  },
  get_many(names) {
    const st = attrOwner(this, 'user.attr.get_many');
    const wanted = attrNames('user.attr.get_many', names);
    const r = { __proto__: null };
    for (let i = 0; i < wanted.length; i++) r[wanted[i]] = attrValue('user.attr.get_many', st, wanted[i]);
    setPrototypeOf(r, ObjectPrototype);
    return r;
  },
  exists(name) {
    const st = attrOwner(this, 'user.attr.exists');
    return attrName(name, 'user.attr.exists: name') in attrsOf(st);
  },
  names() {
    const st = attrOwner(this, 'user.attr.names');
    const cur = attrsOf(st);
    const r = list();
    for (const name in cur) push(r, name);
    return toScriptArray(r);
  },
  delete(name) {
    const st = attrOwner(this, 'user.attr.delete');
    return attrDelete(st, attrName(name, 'user.attr.delete: name'));
  },
  delete_many(names) {
    const st = attrOwner(this, 'user.attr.delete_many');
    const gone = attrNames('user.attr.delete_many', names);
    let n = 0;
    for (let i = 0; i < gone.length; i++) if (attrDelete(st, gone[i])) n++;
    return n;
  },
  set_expiry(name, seconds) {
    const st = attrOwner(this, 'user.attr.set_expiry');
    const n = attrName(name, 'user.attr.set_expiry: name');
    if (seconds === undefined) throw typeError('user.attr.set_expiry: seconds must be a positive number of seconds or null (got undefined)');
    const expiration = attrExpiration(seconds, 'user.attr.set_expiry: seconds');
    if (!(n in attrsOf(st))) throw new ErrorCtor('user.attr.set_expiry: attribute ' + quote(n) + ' does not exist');
    const w = st.attrWrites[n];
    if (w !== undefined && w.op === 'set') w.expiration = expiration;
    else st.attrWrites[n] = { __proto__: null, op: 'expiry', expiration: expiration };
  },
};
for (const k in ATTR_PROTO) freeze(ATTR_PROTO[k]);
freeze(ATTR_PROTO);

function attrApiOf(st) {
  if (st.attrApi === null) {
    const a = objectCreate(ATTR_PROTO);
    weakMapSet(owners, a, st);
    st.attrApi = freeze(a);
  }
  return st.attrApi;
}

function attrWriteJson(w) {
  if (w.op === 'delete') return '{"op":"delete"}';
  if (w.op === 'expiry') return '{"op":"expiry","expiration":' + numberJson(w.expiration) + '}';
  return '{"op":"set","json":' + quote(w.json) + ',"expiration":' + numberJson(w.expiration) + ',"encrypt":' + (w.encrypt ? 'true' : 'false') + '}';
}

// '"name":{…},…' of the collapsed writes, or ''.
function attrsJson(st) {
  const writes = st.attrWrites;
  if (writes === null) return '';
  let s = '';
  for (const name in writes) s += (s === '' ? '' : ',') + quote(name) + ':' + attrWriteJson(writes[name]);
  return s;
}
`;
