/**
 * Prelude fragment: the `user` object. One Proxy per user over its null-prototype state, with a
 * shared frozen handler and shared frozen methods: properties are the fields, assignments are
 * validated, unknown names throw (typos fail), and nothing about it can be redefined. Its
 * prototype reads as Object.prototype, so `user.toString()` and friends behave as usual.
 */
export const USER_OBJECT_SOURCE = String.raw`
function userOwner(self, method) {
  const st = weakMapGet(owners, self);
  if (st === undefined) throw typeError(method + ' must be called on user (as user.' + stringSlice(method, 5) + '(…))');
  assertOpen(st, method);
  return st;
}

const METHODS = {
  __proto__: null,
  profile_add(arg) {
    return profileAdd(userOwner(this, 'user.profile_add'), arg);
  },
  profile_remove(arg) {
    return profileRemove(userOwner(this, 'user.profile_remove'), arg);
  },
  attribute_add(a, b, c) {
    return radiusAdd(REPLY, 'user.attribute_add', userOwner(this, 'user.attribute_add'), a, b, c);
  },
  attribute_remove(a, b, c) {
    return radiusRemove(REPLY, 'user.attribute_remove', userOwner(this, 'user.attribute_remove'), a, b, c);
  },
  check_attribute_add(a, b, c) {
    return radiusAdd(CHECK, 'user.check_attribute_add', userOwner(this, 'user.check_attribute_add'), a, b, c);
  },
  check_attribute_remove(a, b, c) {
    return radiusRemove(CHECK, 'user.check_attribute_remove', userOwner(this, 'user.check_attribute_remove'), a, b, c);
  },
};
for (const k in METHODS) freeze(METHODS[k]);
freeze(METHODS);

const READERS = freeze({ __proto__: null, profiles: true, attributes: true, check_attributes: true, attr: true });

function userGet(st, key) {
  const f = FIELD[key];
  if (f !== undefined) return readField(st, f);
  switch (key) {
    case 'profiles':
      return profilesView(st);
    case 'attributes':
      return radiusView(st, REPLY);
    case 'check_attributes':
      return radiusView(st, CHECK);
    case 'attr':
      return attrApiOf(st);
    default:
      return METHODS[key];
  }
}

function isUserKey(key) {
  return typeof key === 'string' && (key in FIELD || key in READERS || key in METHODS);
}

function keyText(key) {
  return typeof key === 'string' ? quote(key) : StringCtor(key);
}

const USER_HANDLER = freeze({
  __proto__: null,
  get(st, key, receiver) {
    if (isUserKey(key)) return userGet(st, key);
    return reflectGet(ObjectPrototype, key, receiver);
  },
  set(st, key, value) {
    if (typeof key === 'string') {
      const f = FIELD[key];
      if (f !== undefined) {
        writeField(st, f, value);
        return true;
      }
      if (key in READERS || key in METHODS) throw typeError('user.' + key + ' is read-only');
    }
    throw typeError('user has no field ' + keyText(key));
  },
  has(st, key) {
    return isUserKey(key) || reflectHas(ObjectPrototype, key);
  },
  ownKeys() {
    return USER_KEYS;
  },
  getOwnPropertyDescriptor(st, key) {
    if (!isUserKey(key)) return undefined;
    const f = FIELD[key];
    return {
      __proto__: null,
      value: userGet(st, key),
      writable: f !== undefined && f.writable,
      enumerable: f !== undefined || (key in READERS && key !== 'attr'),
      configurable: true,
    };
  },
  defineProperty(st, key) {
    if (isUserKey(key)) throw typeError('user.' + key + ' cannot be redefined' + (key in FIELD ? '; assign it instead' : ''));
    throw typeError('user has no field ' + keyText(key));
  },
  deleteProperty(st, key) {
    if (isUserKey(key)) throw typeError('user.' + key + ' cannot be deleted');
    throw typeError('user has no field ' + keyText(key));
  },
  getPrototypeOf() {
    return ObjectPrototype;
  },
  setPrototypeOf() {
    throw typeError('the prototype of user cannot be changed');
  },
  preventExtensions() {
    throw typeError('user cannot be frozen or sealed (it already rejects unknown fields)');
  },
});

// The per-user state: the snapshot as received and the script's pending changes.
function newUserState(job, index) {
  const u = own(job, 'user');
  const st = {
    __proto__: null,
    index: index,
    seq: own(job, 'seq'),
    snapFields: own(u, 'fields'),
    snapProfiles: own(u, 'profiles'),
    snapReply: own(u, 'attributes'),
    snapCheck: own(u, 'check_attributes'),
    snapAttrs: own(u, 'attrs'),
    assigned: null,
    profiles: null,
    profilesDirty: false,
    reply: null,
    replyDirty: false,
    check: null,
    checkDirty: false,
    attrCur: null,
    attrExisted: null,
    attrWrites: null,
    attrApi: null,
    logs: list(),
    logsDropped: 0,
    skipped: undefined,
    closed: false,
    proxy: null,
  };
  const proxy = new ProxyCtor(st, USER_HANDLER);
  weakMapSet(owners, proxy, st);
  st.proxy = proxy;
  return st;
}
`;
