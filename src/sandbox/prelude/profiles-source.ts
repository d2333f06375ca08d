/**
 * Prelude fragment: `user.profile_add` / `user.profile_remove` and the `user.profiles` reader.
 * Profiles resolve against the run's profile list (`PROFILE_BY_ID`, `PROFILE_BY_SHORT_NAME` from
 * the runner fragment) without a round trip.
 */
export const PROFILES_SOURCE = String.raw`
class ProfileEntry {
  constructor(id, shortName, name, priority) {
    this.id = id;
    this.short_name = shortName;
    this.name = name === undefined ? null : name;
    this.priority = priority;
  }
}
record(ProfileEntry);

function profilesOf(st) {
  if (st.profiles === null) {
    const l = new List();
    const s = st.snapProfiles;
    if (isArray(s)) {
      for (let i = 0; i < s.length; i++) {
        const p = s[i];
        push(l, new ProfileEntry(at(p, 0), at(p, 1), at(p, 2), at(p, 3)));
      }
    }
    st.profiles = l;
  }
  return st.profiles;
}

// The profile an argument names, or the message saying there is none.
function resolveProfile(method, arg) {
  let id;
  let shortName;
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
    if (typeof id !== 'number' || !isSafeInteger(id)) throw typeError(method + ': id must be an integer (got ' + shown(id) + ')');
    const p = PROFILE_BY_ID['' + id];
    return p === undefined ? 'no profile with id ' + id : p;
  }
  if (typeof shortName !== 'string' || shortName === '') {
    throw typeError(method + ': short_name must be a non-empty string (got ' + shown(shortName) + ')');
  }
  const p = PROFILE_BY_SHORT_NAME[shortName];
  return p === undefined ? 'no profile with short_name ' + shortName : p;
}

function profileAdd(st, arg) {
  const p = resolveProfile('user.profile_add', arg);
  if (typeof p === 'string') return [false, p];
  const l = profilesOf(st);
  let max = 0;
  for (let i = 0; i < l.length; i++) {
    if (l[i].id === p.id) return [false, 'user already has profile ' + p.short_name];
    if (l[i].priority > max) max = l[i].priority;
  }
  st.profilesDirty = true;
  push(l, new ProfileEntry(p.id, p.short_name, p.name, max + 1));
  return [true, 'profile ' + p.short_name + ' added'];
}

function profileRemove(st, arg) {
  const p = resolveProfile('user.profile_remove', arg);
  if (typeof p === 'string') return [false, p];
  const l = profilesOf(st);
  const kept = new List();
  for (let i = 0; i < l.length; i++) if (l[i].id !== p.id) push(kept, l[i]);
  if (kept.length === l.length) return [false, 'user does not have profile ' + p.short_name];
  st.profilesDirty = true;
  st.profiles = kept;
  return [true, 'profile ' + p.short_name + ' removed'];
}

function profilesView(st) {
  const l = profilesOf(st);
  const r = new List();
  for (let i = 0; i < l.length; i++) {
    const p = l[i];
    const e = PROFILE_BY_ID['' + p.id];
    push(r, { id: p.id, short_name: p.short_name, name: p.name, priority: p.priority, attributes: rowsCopy(e && e.attributes), check_attributes: rowsCopy(e && e.check_attributes) });
  }
  return toScriptArray(r);
}

// The profile's own reply/check rows as a fresh copy: reading them never exposes the catalog.
function rowsCopy(rows) {
  const r = new List();
  if (isArray(rows)) for (let i = 0; i < rows.length; i++) push(r, { attr: own(rows[i], 'attr'), op: own(rows[i], 'op'), value: own(rows[i], 'value') });
  return toScriptArray(r);
}

function profilesChanged(st) {
  const l = st.profiles;
  const s = st.snapProfiles;
  const n = isArray(s) ? s.length : 0;
  if (l.length !== n) return true;
  for (let i = 0; i < n; i++) {
    if (l[i].id !== at(s[i], 0) || l[i].priority !== at(s[i], 3)) return true;
  }
  return false;
}

// 'id,priority,…' of the final memberships.
function profilesJson(l) {
  let s = '';
  for (let i = 0; i < l.length; i++) s += (i === 0 ? '' : ',') + numberJson(l[i].id) + ',' + numberJson(l[i].priority);
  return s;
}
`;
