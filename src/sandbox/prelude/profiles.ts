/**
 * Prelude: `user.profile_add` / `user.profile_remove` and the `user.profiles` reader.
 * Profiles resolve against the run's profile list (`PROFILE_BY_ID`, `PROFILE_BY_SHORT_NAME` from
 * state.ts) without a round trip.
 */
import { PROFILE_ID, PROFILE_NAME, PROFILE_PRIORITY, PROFILE_SHORT_NAME } from '../wire-format.js';
import type { ProfileInfo } from './state.js';
import {
  List,
  at,
  isArray,
  isSafeInteger,
  own,
  push,
  record,
  toScriptArray,
  typeError,
} from './intrinsics.js';
import { numberJson, shown } from './values.js';
import { PROFILE_BY_ID, PROFILE_BY_SHORT_NAME } from './state.js';
import { handOut, type UserState } from './user-object.js';

export class ProfileEntry {
  readonly name: string | null;
  constructor(
    readonly id: number,
    readonly short_name: string,
    name: string | null | undefined,
    readonly priority: number,
  ) {
    this.name = name === undefined ? null : name;
  }
}
record(ProfileEntry);

function profilesOf(st: UserState): ProfileEntry[] {
  if (st.profiles === null) {
    const l = new List<ProfileEntry>();
    const s = st.snapProfiles;
    if (isArray(s)) {
      for (let i = 0; i < s.length; i++) {
        const p = s[i];
        push(
          l,
          new ProfileEntry(
            at(p, PROFILE_ID),
            at(p, PROFILE_SHORT_NAME),
            at(p, PROFILE_NAME),
            at(p, PROFILE_PRIORITY),
          ),
        );
      }
    }
    st.profiles = l;
  }
  return st.profiles;
}

// The profile an argument names, or the message saying there is none.
function resolveProfile(method: string, arg: unknown): ProfileInfo | string {
  let id: unknown;
  let shortName: unknown;
  if (typeof arg === 'number') id = arg;
  else if (typeof arg === 'string') shortName = arg;
  else if (arg !== null && typeof arg === 'object') {
    id = own(arg, 'id');
    shortName = own(arg, 'short_name');
    if ((id === undefined) === (shortName === undefined)) {
      throw typeError(method + ': use either id or short_name');
    }
  } else {
    throw typeError(method + ': use either id or short_name (got ' + shown(arg) + ')');
  }
  if (id !== undefined) {
    if (typeof id !== 'number' || !isSafeInteger(id))
      throw typeError(method + ': id must be an integer (got ' + shown(id) + ')');
    const p = PROFILE_BY_ID['' + id];
    return p === undefined ? 'no profile with id ' + id : p;
  }
  if (typeof shortName !== 'string' || shortName === '') {
    throw typeError(method + ': short_name must be a non-empty string (got ' + shown(shortName) + ')');
  }
  const p = PROFILE_BY_SHORT_NAME[shortName];
  return p === undefined ? 'no profile with short_name ' + shortName : p;
}

export function profileAdd(st: UserState, arg: unknown): [boolean, string] {
  const p = resolveProfile('user.profile_add', arg);
  if (typeof p === 'string') return [false, p];
  const l = profilesOf(st);
  let max = 0;
  for (let i = 0; i < l.length; i++) {
    if ((l[i] as ProfileEntry).id === p.id) return [false, 'user already has profile ' + p.short_name];
    if ((l[i] as ProfileEntry).priority > max) max = (l[i] as ProfileEntry).priority;
  }
  st.profilesDirty = true;
  push(l, new ProfileEntry(p.id, p.short_name, p.name, max + 1));
  return [true, 'profile ' + p.short_name + ' added'];
}

export function profileRemove(st: UserState, arg: unknown): [boolean, string] {
  const p = resolveProfile('user.profile_remove', arg);
  if (typeof p === 'string') return [false, p];
  const l = profilesOf(st);
  const kept = new List<ProfileEntry>();
  for (let i = 0; i < l.length; i++) if ((l[i] as ProfileEntry).id !== p.id) push(kept, l[i] as ProfileEntry);
  if (kept.length === l.length) return [false, 'user does not have profile ' + p.short_name];
  st.profilesDirty = true;
  st.profiles = kept;
  return [true, 'profile ' + p.short_name + ' removed'];
}

export function profilesView(st: UserState): object[] {
  const l = profilesOf(st);
  const r = new List<object>();
  for (let i = 0; i < l.length; i++) {
    const p = l[i] as ProfileEntry;
    const e = PROFILE_BY_ID['' + p.id];
    push(
      r,
      handOut(st, {
        id: p.id,
        short_name: p.short_name,
        name: p.name,
        priority: p.priority,
        attributes: rowsCopy(st, e?.attributes),
        check_attributes: rowsCopy(st, e?.check_attributes),
      }),
    );
  }
  return handOut(st, toScriptArray(r));
}

/** A profile's own reply/check rows as a fresh copy: reading them never exposes the catalog. */
function rowsCopy(st: UserState, rows: unknown): object[] {
  const r = new List<object>();
  if (isArray(rows)) {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      push(r, handOut(st, { attr: own(row, 'attr'), op: own(row, 'op'), value: own(row, 'value') }));
    }
  }
  return handOut(st, toScriptArray(r));
}

export function profilesChanged(st: UserState): boolean {
  const l = st.profiles;
  if (l === null) return false;
  const s = st.snapProfiles;
  const n = isArray(s) ? s.length : 0;
  if (l.length !== n) return true;
  for (let i = 0; i < n; i++) {
    const e = l[i] as ProfileEntry;
    if (e.id !== at(at(s, i), PROFILE_ID) || e.priority !== at(at(s, i), PROFILE_PRIORITY)) return true;
  }
  return false;
}

// 'id,priority,…' of the final memberships.
export function profilesJson(l: readonly ProfileEntry[]): string {
  let s = '';
  for (let i = 0; i < l.length; i++) {
    const e = l[i] as ProfileEntry;
    s += (i === 0 ? '' : ',') + numberJson(e.id) + ',' + numberJson(e.priority);
  }
  return s;
}
