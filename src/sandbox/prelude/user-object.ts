/**
 * Prelude: the `user` object. One Proxy per user over its null-prototype state, with a
 * shared frozen handler and shared frozen methods: properties are the fields, assignments are
 * validated, unknown names throw (typos fail), and nothing about it can be redefined. Its
 * prototype reads as Object.prototype, so `user.toString()` and friends behave as usual.
 */
import {
  JOB_ATTRS,
  JOB_CHECK,
  JOB_FIELDS,
  JOB_PROFILES,
  JOB_REPLY,
  JOB_SEQ,
  NOTE_WIDTH,
} from '../wire-format.js';
import {
  ErrorCtor,
  List,
  captureStackTrace,
  ObjectPrototype,
  ProxyCtor,
  StringCtor,
  at,
  freeze,
  objectKeys,
  push,
  record,
  reflectGet,
  reflectHas,
  typeError,
} from './intrinsics.js';
import type { Thrown } from './values.js';
import type { ProfileEntry } from './profiles.js';
import type { RadiusEntry } from './radius-attributes.js';
import type { AttrEntry } from './user-attr.js';
import type { FieldSpec } from './fields.js';
import type { MethodTable, UserMethodName, UserReaderName } from '../../model/script-api.js';
import { findLocation, quote } from './values.js';
import { assertOpen, readField, writeField } from './fields.js';
import { profileAdd, profileRemove, profilesView } from './profiles.js';
import { CHECK, REPLY, radiusAdd, radiusRemove, radiusView } from './radius-attributes.js';
import { attrApiOf } from './user-attr.js';
import { FIELD, FIELD_LIST, cur } from './state.js';
import { suggestName } from '../../model/suggest-name.js';

// Methods are shared by every user object; they act only on the user being run, and only when
// called on its object (a user object kept from an earlier user is refused).
export function userOwner(self: unknown, method: string): UserState {
  const st = cur;
  if (st === null || self !== st.proxy) {
    throw typeError(method + ' must be called on the user being run (as ' + method + '(…))');
  }
  assertOpen(st, method);
  return st;
}

/**
 * Records an object the prelude created and hands to the script, so that it is frozen once the
 * user is done: an object of an earlier user can be read, never written.
 */
export function handOut<T>(st: UserState, v: T): T {
  if (v !== null && typeof v === 'object') {
    if (st.handedOut === null) st.handedOut = new List<object>();
    push(st.handedOut, v as object);
  }
  return v;
}

// A value parsed from JSON (so plain data, no getters) and every object in it.
export function handOutJson(st: UserState, v: unknown, depth: number): unknown {
  if (v === null || typeof v !== 'object' || depth > 100) return v;
  handOut(st, v);
  const keys = objectKeys(v);
  for (let i = 0; i < keys.length; i++)
    handOutJson(st, (v as Record<string, unknown>)[keys[i] as string], depth + 1);
  return v;
}

/** Notes kept per user; later ones are counted in `notesDropped`. */
const MAX_NOTES = 20;

/**
 * A method's `[updated, message]`, handed to the script; a call that changed nothing is also
 * noted (message and the script line that made it), so the report can show it: a no-op such as
 * `profile_add("gld")` for a profile that does not exist must not pass unseen. The same note
 * twice (a call in a loop) is kept once.
 */
function result(st: UserState, r: [boolean, string]): [boolean, string] {
  if (!r[0]) {
    if (st.notes.length >= MAX_NOTES * NOTE_WIDTH) st.notesDropped++;
    else {
      const location = callerLocation();
      let seen = false;
      for (let i = 0; i < st.notes.length && !seen; i += NOTE_WIDTH)
        seen = st.notes[i] === r[1] && st.notes[i + 1] === location;
      if (!seen) {
        push(st.notes, r[1]);
        push(st.notes, location);
      }
    }
  }
  return handOut(st, r);
}

// Where the script called the method: the frame right below the method's own (captured from
// `result` up, two frames deep: formatting a whole stack per call would slow a loop of no-ops).
function callerLocation(): string | null {
  const holder: { stack?: unknown } = { __proto__: null } as never;
  let limit: unknown;
  try {
    limit = ErrorCtor.stackTraceLimit;
    ErrorCtor.stackTraceLimit = 2;
  } catch {
    // Made read-only by the script: capture with its limit.
  }
  try {
    captureStackTrace(holder, result);
    const stack = holder.stack;
    return typeof stack === 'string' ? (findLocation(stack) ?? null) : null;
  } catch {
    // A stack hook the script planted threw: no location.
    return null;
  } finally {
    try {
      ErrorCtor.stackTraceLimit = limit as number;
    } catch {
      // As above.
    }
  }
}

// Exactly the methods `usrun types` declares (src/model/script-api.ts).
export const METHODS = {
  __proto__: null as never,
  profile_add(arg: any) {
    const st = userOwner(this, 'user.profile_add');
    return result(st, profileAdd(st, arg));
  },
  profile_remove(arg: any) {
    const st = userOwner(this, 'user.profile_remove');
    return result(st, profileRemove(st, arg));
  },
  attribute_add(a: any, b: any, c: any) {
    const st = userOwner(this, 'user.attribute_add');
    return result(st, radiusAdd(REPLY, 'user.attribute_add', st, a, b, c));
  },
  attribute_remove(a: any, b: any, c: any) {
    const st = userOwner(this, 'user.attribute_remove');
    return result(st, radiusRemove(REPLY, 'user.attribute_remove', st, a, b, c));
  },
  check_attribute_add(a: any, b: any, c: any) {
    const st = userOwner(this, 'user.check_attribute_add');
    return result(st, radiusAdd(CHECK, 'user.check_attribute_add', st, a, b, c));
  },
  check_attribute_remove(a: any, b: any, c: any) {
    const st = userOwner(this, 'user.check_attribute_remove');
    return result(st, radiusRemove(CHECK, 'user.check_attribute_remove', st, a, b, c));
  },
} satisfies MethodTable<UserMethodName>;
for (const k in METHODS) freeze(METHODS[k as UserMethodName]);
freeze(METHODS);

let USER_KEYS: string[] | null = null;

// Every key of a user object, in a fixed order: the fields, then the readers and methods.
function userKeys(): string[] {
  if (USER_KEYS === null) {
    const keys = new List<string>();
    for (let i = 0; i < FIELD_LIST.length; i++) push(keys, (FIELD_LIST[i] as FieldSpec).name);
    for (const k in READERS) push(keys, k);
    for (const k in METHODS) push(keys, k);
    USER_KEYS = freeze(keys) as string[];
  }
  return USER_KEYS;
}

// Exactly the readers `usrun types` declares (src/model/script-api.ts).
export const READERS = freeze({
  __proto__: null,
  profiles: true,
  attributes: true,
  check_attributes: true,
  attr: true,
} satisfies { readonly [K in UserReaderName]: true } & { __proto__: null });

export function userGet(st: UserState, key: string): unknown {
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
      return METHODS[key as UserMethodName];
  }
}

export function isUserKey(key: PropertyKey): key is string {
  return typeof key === 'string' && (key in FIELD || key in READERS || key in METHODS);
}

export function keyText(key: PropertyKey): string {
  return typeof key === 'string' ? quote(key) : StringCtor(key);
}

// `user has no field "emial" (did you mean email?)`: the same suggestion as filters make.
function noSuchField(key: PropertyKey): TypeError {
  const close = typeof key === 'string' ? suggestName(key, userKeys()) : undefined;
  return typeError(
    'user has no field ' + keyText(key) + (close === undefined ? '' : ' (did you mean ' + close + '?)'),
  );
}

// The Proxy handler. Its prototype chain ends at null: a trap planted on Object.prototype
// (isExtensible, apply, …) must not become one of its traps.
export class UserHandler {
  get(st: UserState, key: PropertyKey, receiver: unknown): unknown {
    if (isUserKey(key)) return userGet(st, key);
    return reflectGet(ObjectPrototype, key, receiver);
  }
  set(st: UserState, key: PropertyKey, value: unknown): boolean {
    if (typeof key === 'string') {
      const f = FIELD[key];
      if (f !== undefined) {
        writeField(st, f, value);
        return true;
      }
      if (key in READERS || key in METHODS) throw typeError('user.' + key + ' is read-only');
    }
    throw noSuchField(key);
  }
  has(_st: UserState, key: PropertyKey): boolean {
    return isUserKey(key) || reflectHas(ObjectPrototype, key);
  }
  ownKeys() {
    return userKeys();
  }
  getOwnPropertyDescriptor(st: UserState, key: PropertyKey): PropertyDescriptor | undefined {
    if (!isUserKey(key)) return undefined;
    const f = FIELD[key];
    return {
      __proto__: null,
      value: userGet(st, key),
      writable: f !== undefined && f.writable,
      enumerable: f !== undefined || (key in READERS && key !== 'attr'),
      configurable: true,
    } as PropertyDescriptor;
  }
  defineProperty(_st: UserState, key: PropertyKey): boolean {
    if (isUserKey(key))
      throw typeError('user.' + key + ' cannot be redefined' + (key in FIELD ? '; assign it instead' : ''));
    throw noSuchField(key);
  }
  deleteProperty(_st: UserState, key: PropertyKey): boolean {
    if (isUserKey(key)) throw typeError('user.' + key + ' cannot be deleted');
    throw typeError('user has no field ' + keyText(key));
  }
  getPrototypeOf(): object {
    return ObjectPrototype;
  }
  setPrototypeOf(): boolean {
    throw typeError('the prototype of user cannot be changed');
  }
  preventExtensions(): boolean {
    throw typeError('user cannot be frozen or sealed (it already rejects unknown fields)');
  }
}
record(UserHandler);
export const USER_HANDLER = new UserHandler();

/** One of the user's RADIUS lists: the snapshot as received and, once read, the working copy. */
export class RadiusSide {
  list: RadiusEntry[] | null = null;
  dirty = false;
  constructor(readonly snapshot: unknown) {}
}
record(RadiusSide);

// The per-user state: the snapshot as received and the script's pending changes.
export class UserState {
  readonly seq: unknown;
  readonly snapFields: unknown;
  readonly snapProfiles: unknown;
  readonly snapAttrs: unknown;
  /** Assigned field values by FIELD_LIST index (UNSET where not assigned), or null. */
  values: unknown[] | null = null;
  profiles: ProfileEntry[] | null = null;
  profilesDirty = false;
  readonly reply: RadiusSide;
  readonly check: RadiusSide;
  attrs: AttrEntry[] | null = null;
  attrApi: object | null = null;
  logs: string[] = new List();
  /** Characters of text in logs. */
  logChars = 0;
  logsDropped = 0;
  /** Flat `[message, location|null, …]` of the method calls that changed nothing (wire-format.ts). */
  notes: (string | null)[] = new List();
  notesDropped = 0;
  /** Changes counted while the outcome is written (MAX_CHANGES). */
  changes = 0;
  skipped: string | undefined = undefined;
  /** The user's run has ended: its objects accept no change. */
  closed = false;
  /** The script's promise has settled (fulfilled, rejected or skipped). */
  settled = false;
  /** Objects handed to the script (views, method results, attr values): frozen when the user ends. */
  handedOut: object[] | null = null;
  /** How the script's promise was rejected, described while the user was still running. */
  failure: Thrown | null = null;
  readonly proxy: object;

  // 'job' is one decoded line of the batch (see ../wire-format.ts).
  constructor(
    job: unknown,
    readonly index: number,
  ) {
    this.seq = at(job, JOB_SEQ);
    this.snapFields = at(job, JOB_FIELDS);
    this.snapProfiles = at(job, JOB_PROFILES);
    this.reply = new RadiusSide(at(job, JOB_REPLY));
    this.check = new RadiusSide(at(job, JOB_CHECK));
    this.snapAttrs = at(job, JOB_ATTRS);
    this.proxy = new ProxyCtor(this, USER_HANDLER as ProxyHandler<UserState>);
  }
}
record(UserState);
