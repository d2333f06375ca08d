import type { Change, GroupInfo, RadiusRow, StoredAttr, UserRecord } from '../model/change.js';
import type { StoredUser } from '../store/load-users.js';
import type { StoredProfile } from '../store/profile-attributes.js';

/** Why one change of a run can no longer be undone cleanly. */
export interface UndoConflict {
  change: Change;
  reason: string;
}

/**
 * What an item's changes touched, as it is now: its user (null when there is none, or it no
 * longer exists) and, for a profile's item, its profile (null when it does not exist).
 */
export interface UndoState {
  user: StoredUser | null;
  profile: StoredProfile | null;
}

const sameAttr = (a: StoredAttr | null, b: StoredAttr | null) =>
  a === null || b === null
    ? a === b
    : a.value === b.value && a.is_encrypted === b.is_encrypted && a.expires_at === b.expires_at;

const sameRow = (r: RadiusRow, x: RadiusRow) => r.attr === x.attr && r.op === x.op && r.value === x.value;

/** Every field a change recorded still has that value. */
const sameRecord = (user: StoredUser | null, record: UserRecord) =>
  user !== null && Object.entries(record).every(([name, value]) => (user.fields[name] ?? null) === value);

const sameGroup = (profile: StoredProfile | null, info: GroupInfo) =>
  profile !== null && profile.name === info.name && profile.description === info.description;

/** The rows a radius-row change is about, as they are now. */
function rowsOf(state: UndoState, change: Change): RadiusRow[] {
  switch (change.kind) {
    case 'reply':
      return state.user?.attributes ?? [];
    case 'check':
      return state.user?.check_attributes ?? [];
    case 'group_reply':
      return state.profile?.attributes ?? [];
    case 'group_check':
      return state.profile?.check_attributes ?? [];
    default:
      return [];
  }
}

/** The current state of what `change` touched, in the change's own terms. */
function current(state: UndoState, change: Change): unknown {
  const { user, profile } = state;
  switch (change.kind) {
    case 'field':
      return user?.fields[change.target] ?? null;
    case 'profile': {
      const p = user?.profiles.find((x) => x.id === (change.after ?? change.before)?.id);
      return p ? { id: p.id, priority: p.priority } : null;
    }
    case 'reply':
    case 'check':
    case 'group_reply':
    case 'group_check':
      return rowsOf(state, change);
    case 'attr': {
      const a = user?.attrs.find((x) => x.name === change.target);
      return a ? { value: a.value, is_encrypted: a.is_encrypted, expires_at: a.expires_at } : null;
    }
    case 'user':
      // All fields, obj_id included: undoing a deletion puts the user back with its own id.
      return user ? { ...user.fields } : null;
    case 'group':
      return profile ? { id: profile.id, name: profile.name, description: profile.description } : null;
  }
}

/** Does the state still look the way `change` left it? */
function stillAfter(state: UndoState, change: Change): boolean {
  const now = current(state, change);
  switch (change.kind) {
    case 'field':
      return now === change.after;
    case 'profile':
      return change.after === null ? now === null : now !== null;
    case 'reply':
    case 'check':
    case 'group_reply':
    case 'group_check': {
      const rows = now as RadiusRow[];
      if (change.after === null) {
        return !rows.some((r) => change.before?.id !== null && r.id === change.before?.id);
      }
      const after = change.after;
      return after.id !== null
        ? rows.some((r) => r.id === after.id && sameRow(r, after))
        : rows.some((r) => sameRow(r, after));
    }
    case 'attr':
      return sameAttr(now as StoredAttr | null, change.after);
    case 'user':
      return change.after === null ? state.user === null : sameRecord(state.user, change.after);
    case 'group':
      return change.after === null ? state.profile === null : sameGroup(state.profile, change.after);
  }
}

/**
 * The change that undoes `change`, from the current state (equal to the run's after value
 * unless forced). A radius row the run removed comes back with its own id (FreeRADIUS reads
 * rows in id order); one the run added is found again by content.
 */
function invert(state: UndoState, change: Change): Change {
  if (
    change.kind === 'reply' ||
    change.kind === 'check' ||
    change.kind === 'group_reply' ||
    change.kind === 'group_check'
  ) {
    const before = change.after && !change.before ? { ...change.after, id: null } : change.after;
    return { kind: change.kind, target: change.target, before, after: change.before } as Change;
  }
  return {
    kind: change.kind,
    target: change.target,
    before: current(state, change),
    after: change.before,
  } as Change;
}

/** Is the change already undone (the state is the before state for it)? */
function alreadyBefore(state: UndoState, change: Change): boolean {
  const now = current(state, change);
  switch (change.kind) {
    case 'field':
      return now === change.before;
    case 'profile':
      return change.before === null ? now === null : now !== null;
    case 'attr':
      return sameAttr(now as StoredAttr | null, change.before);
    case 'reply':
    case 'check':
    case 'group_reply':
    case 'group_check': {
      const rows = now as RadiusRow[];
      if (change.before && change.after)
        return rows.some((r) => r.id === change.before?.id && r.value === change.before.value);
      if (change.before) return rows.some((r) => r.id === change.before?.id);
      const added = change.after as RadiusRow;
      return !rows.some((r) => sameRow(r, added));
    }
    case 'user':
      return change.before === null ? state.user === null : state.user !== null;
    case 'group':
      return change.before === null ? state.profile === null : state.profile !== null;
  }
}

/** Rows in `rows` beyond those `added` (by content, as a multiset). */
function extraRows(rows: readonly RadiusRow[], added: readonly RadiusRow[]): RadiusRow[] {
  const left = [...added];
  return rows.filter((r) => {
    const i = left.findIndex((a) => sameRow(a, r));
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

/**
 * Undoing a creation deletes the whole user or profile, with whatever was added to it since.
 * What was added since, beyond the item's own changes, makes it a conflict.
 */
function addedSinceCreation(state: UndoState, all: readonly Change[]): string[] {
  const created = (kind: Change['kind']) =>
    all.some((c) => c.kind === kind && c.before === null && c.after !== null);
  const addedRows = (kind: Change['kind']) =>
    all.filter((c) => c.kind === kind && c.after !== null).map((c) => c.after as RadiusRow);
  const reasons: string[] = [];
  const { user, profile } = state;
  if (user && created('user')) {
    const name = String(user.fields['username']);
    const members = new Set(all.flatMap((c) => (c.kind === 'profile' && c.after ? [c.after.id] : [])));
    const attrs = new Set(all.flatMap((c) => (c.kind === 'attr' && c.after ? [c.target] : [])));
    const extra = [
      ...user.profiles.filter((p) => !members.has(p.id)).map((p) => `profile ${p.short_name}`),
      ...extraRows(user.attributes, addedRows('reply')).map((r) => `reply ${r.attr}`),
      ...extraRows(user.check_attributes, addedRows('check')).map((r) => `check ${r.attr}`),
      ...user.attrs.filter((a) => !attrs.has(a.name)).map((a) => `attr ${a.name}`),
    ];
    if (extra.length > 0) reasons.push(`user ${name} has gained ${extra.join(', ')} since it was created`);
  }
  if (profile && created('group')) {
    const extra = [
      ...extraRows(profile.attributes, addedRows('group_reply')).map((r) => `reply ${r.attr}`),
      ...extraRows(profile.check_attributes, addedRows('group_check')).map((r) => `check ${r.attr}`),
    ];
    if (profile.members > 0) extra.push(`${profile.members} member${profile.members === 1 ? '' : 's'}`);
    if (extra.length > 0)
      reasons.push(`profile ${profile.short_name} has gained ${extra.join(', ')} since it was created`);
  }
  return reasons;
}

/**
 * The changes that restore the `before` values of one run's item, checked against the current
 * state. Any change the state no longer matches is a conflict — for an item that created a user
 * or profile, so is anything it gained since (undo would delete it too); with `force` the
 * inverse is applied anyway, minus steps that are already in the before state. Pure.
 */
export function planUndo(
  state: UndoState,
  all: readonly Change[],
  force: boolean,
): { changes: Change[]; conflicts: UndoConflict[] } {
  // last_update only says when the user last changed: if a later write moved it, that write's
  // value stays, and it is no conflict — another run's changes to other things are not this
  // run's to judge. Still at this run's value (or with --force), it is restored like any field.
  const changes = force
    ? [...all]
    : all.filter((c) => !(c.kind === 'field' && c.target === 'last_update' && !stillAfter(state, c)));
  // Undone already (an earlier undo got this user): nothing to do, and no conflict either.
  if (changes.every((c) => alreadyBefore(state, c))) return { changes: [], conflicts: [] };
  const conflicts: UndoConflict[] = [];
  for (const change of changes) {
    // A created user's last_update is compared like its other fields: a later write moved it.
    if (!stillAfter(state, change)) {
      const what = change.kind === 'user' ? 'user' : change.kind === 'group' ? 'profile' : change.kind;
      conflicts.push({ change, reason: `${what} ${change.target} was changed again since the run` });
    }
  }
  const creation = all.find((c) => (c.kind === 'user' || c.kind === 'group') && c.before === null);
  if (creation) {
    for (const reason of addedSinceCreation(state, all)) conflicts.push({ change: creation, reason });
  }
  if (conflicts.length > 0 && !force) return { changes: [], conflicts };
  const inverse = [...changes]
    .reverse()
    .filter((c) => !(force && alreadyBefore(state, c)))
    .map((c) => invert(state, c));
  return { changes: inverse, conflicts };
}
