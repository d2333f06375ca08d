import type { Change, RadiusRow, StoredAttr } from '../model/change.js';
import type { StoredUser } from '../store/load-users.js';

/** Why one change of a run can no longer be undone cleanly. */
export interface UndoConflict {
  change: Change;
  reason: string;
}

const sameAttr = (a: StoredAttr | null, b: StoredAttr | null) =>
  a === null || b === null
    ? a === b
    : a.value === b.value && a.is_encrypted === b.is_encrypted && a.expires_at === b.expires_at;

const sameRow = (r: RadiusRow, x: RadiusRow) => r.attr === x.attr && r.op === x.op && r.value === x.value;

/** The current state of what `change` touched, in the change's own terms. */
function current(user: StoredUser, change: Change): unknown {
  switch (change.kind) {
    case 'field':
      return user.fields[change.target] ?? null;
    case 'profile': {
      const p = user.profiles.find((x) => x.id === (change.after ?? change.before)?.id);
      return p ? { id: p.id, priority: p.priority } : null;
    }
    case 'reply':
    case 'check':
      return change.kind === 'reply' ? user.attributes : user.check_attributes;
    case 'attr': {
      const a = user.attrs.find((x) => x.name === change.target);
      return a ? { value: a.value, is_encrypted: a.is_encrypted, expires_at: a.expires_at } : null;
    }
  }
}

/** Does the user still look the way `change` left it? */
function stillAfter(user: StoredUser, change: Change): boolean {
  const now = current(user, change);
  switch (change.kind) {
    case 'field':
      return now === change.after;
    case 'profile':
      return change.after === null ? now === null : now !== null;
    case 'reply':
    case 'check': {
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
  }
}

/**
 * The change that undoes `change`, from the user's current state (equal to the run's after
 * value unless forced). A radius row the run removed comes back with its own id (FreeRADIUS
 * reads rows in id order); one the run added is found again by content.
 */
function invert(user: StoredUser, change: Change): Change {
  if (change.kind === 'reply' || change.kind === 'check') {
    const before = change.after && !change.before ? { ...change.after, id: null } : change.after;
    return { kind: change.kind, target: change.target, before, after: change.before };
  }
  return {
    kind: change.kind,
    target: change.target,
    before: current(user, change),
    after: change.before,
  } as Change;
}

/** Is the change already undone (the user is in the before state for it)? */
function alreadyBefore(user: StoredUser, change: Change): boolean {
  const now = current(user, change);
  switch (change.kind) {
    case 'field':
      return now === change.before;
    case 'profile':
      return change.before === null ? now === null : now !== null;
    case 'attr':
      return sameAttr(now as StoredAttr | null, change.before);
    case 'reply':
    case 'check': {
      const rows = now as RadiusRow[];
      if (change.before && change.after)
        return rows.some((r) => r.id === change.before?.id && r.value === change.before.value);
      if (change.before) return rows.some((r) => r.id === change.before?.id);
      const added = change.after as RadiusRow;
      return !rows.some((r) => sameRow(r, added));
    }
  }
}

/**
 * The changes that restore a user's `before` values from one run's item, checked against the
 * user's current state. Any change the user no longer matches is a conflict; with `force` the
 * inverse is applied anyway, minus steps that are already in the before state. Pure.
 */
export function planUndo(
  user: StoredUser,
  all: readonly Change[],
  force: boolean,
): { changes: Change[]; conflicts: UndoConflict[] } {
  // last_update only says when the user last changed: if a later write moved it, that write's
  // value stays, and it is no conflict — another run's changes to other things are not this
  // run's to judge. Still at this run's value (or with --force), it is restored like any field.
  const changes = force
    ? [...all]
    : all.filter((c) => !(c.kind === 'field' && c.target === 'last_update' && !stillAfter(user, c)));
  // Undone already (an earlier undo got this user): nothing to do, and no conflict either.
  if (changes.every((c) => alreadyBefore(user, c))) return { changes: [], conflicts: [] };
  const conflicts: UndoConflict[] = [];
  for (const change of changes) {
    if (!stillAfter(user, change)) {
      conflicts.push({ change, reason: `${change.kind} ${change.target} was changed again since the run` });
    }
  }
  if (conflicts.length > 0 && !force) return { changes: [], conflicts };
  const inverse = [...changes]
    .reverse()
    .filter((c) => !(force && alreadyBefore(user, c)))
    .map((c) => invert(user, c));
  return { changes: inverse, conflicts };
}
