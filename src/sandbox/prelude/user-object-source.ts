/**
 * Prelude fragment: the `user` object. One Proxy per user over its null-prototype state, with a
 * shared frozen handler and shared frozen methods: properties are the fields, assignments are
 * validated, unknown names throw (typos fail), and nothing about it can be redefined. Its
 * prototype reads as Object.prototype, so `user.toString()` and friends behave as usual.
 */
export const USER_OBJECT_SOURCE = String.raw`
// Methods are shared by every user object; they act only on the user being run, and only when
// called on its object (a user object kept from an earlier user is refused).
function userOwner(self, method) {
  const st = cur;
  if (st === null || self !== st.proxy) {
    throw typeError(method + ' must be called on the user being run (as ' + method + '(…))');
  }
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

// The Proxy handler. Its prototype chain ends at null: a trap planted on Object.prototype
// (isExtensible, apply, …) must not become one of its traps.
class UserHandler {
  get(st, key, receiver) {
    if (isUserKey(key)) return userGet(st, key);
    return reflectGet(ObjectPrototype, key, receiver);
  }
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
  }
  has(st, key) {
    return isUserKey(key) || reflectHas(ObjectPrototype, key);
  }
  ownKeys() {
    return USER_KEYS;
  }
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
  }
  defineProperty(st, key) {
    if (isUserKey(key)) throw typeError('user.' + key + ' cannot be redefined' + (key in FIELD ? '; assign it instead' : ''));
    throw typeError('user has no field ' + keyText(key));
  }
  deleteProperty(st, key) {
    if (isUserKey(key)) throw typeError('user.' + key + ' cannot be deleted');
    throw typeError('user has no field ' + keyText(key));
  }
  getPrototypeOf() {
    return ObjectPrototype;
  }
  setPrototypeOf() {
    throw typeError('the prototype of user cannot be changed');
  }
  preventExtensions() {
    throw typeError('user cannot be frozen or sealed (it already rejects unknown fields)');
  }
}
record(UserHandler);
const USER_HANDLER = new UserHandler();

// The per-user state: the snapshot as received and the script's pending changes.
class UserState {
  // 'job' is one decoded line of the batch (see src/sandbox/encode-jobs.ts).
  constructor(job, index) {
    this.index = index;
    this.seq = at(job, 0);
    this.snapFields = at(job, 1);
    this.snapProfiles = at(job, 2);
    this.snapReply = at(job, 3);
    this.snapCheck = at(job, 4);
    this.snapAttrs = at(job, 5);
    this.values = null;
    this.profiles = null;
    this.profilesDirty = false;
    this.reply = null;
    this.replyDirty = false;
    this.check = null;
    this.checkDirty = false;
    this.attrs = null;
    this.attrApi = null;
    this.logs = new List();
    this.logsDropped = 0;
    this.skipped = undefined;
    this.closed = false;
    this.proxy = new ProxyCtor(this, USER_HANDLER);
  }
}
record(UserState);
`;
