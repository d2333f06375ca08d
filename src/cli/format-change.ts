import type { Change, RadiusRow, StoredAttr, UserRecord } from '../model/change.js';

const ARROW = '→';

function attrValue(a: StoredAttr): string {
  const value = a.is_encrypted ? '<encrypted>' : a.value;
  return a.expires_at ? `${value} (expires ${a.expires_at})` : value;
}

/** Passwords (Cleartext-Password, Crypt-Password …) are journaled for undo but never printed. */
const shown = (r: RadiusRow) => (/password/i.test(r.attr) ? '<hidden>' : r.value);

const radius = (r: RadiusRow) => `${r.attr} ${r.op} ${shown(r)}`;

/** The fields of a created (or re-created) user worth showing: set ones, bar the name itself. */
function recordLines(record: UserRecord): string[] {
  return Object.entries(record)
    .filter(([name, value]) => value !== null && name !== 'username' && name !== 'obj_id')
    .map(([name, value]) => `  ${name}: ${JSON.stringify(value)}`);
}

/**
 * The diff lines of one change, as the dry run and `runs show` print them:
 * `email: "a@x" → "b@x"`, `+ profile aaa-01`, `+ reply Session-Timeout := 3600`, `~ attr plan …`,
 * `+ user alice` followed by its fields, `+ group reply Idle-Timeout = 600`.
 * Encrypted values and passwords are never shown.
 */
export function formatChangeLines(change: Change): string[] {
  switch (change.kind) {
    case 'user':
      if (change.after && !change.before) return [`+ user ${change.target}`, ...recordLines(change.after)];
      if (change.before && !change.after) return [`- user ${change.target}`];
      return [`~ user ${change.target}`];
    case 'group':
      if (change.after && !change.before) return [`+ profile ${change.target}`];
      if (change.before && !change.after) return [`- profile ${change.target}`];
      return [`~ profile ${change.target}`];
    default:
      return [formatChange(change)];
  }
}

/** One line per change (a created user's fields left out): see `formatChangeLines`. */
export function formatChange(change: Change): string {
  switch (change.kind) {
    case 'field':
      return `${change.target}: ${JSON.stringify(change.before)} ${ARROW} ${JSON.stringify(change.after)}`;
    case 'profile':
      return change.after && !change.before
        ? `+ profile ${change.target}`
        : !change.after
          ? `- profile ${change.target}`
          : `~ profile ${change.target} priority ${change.before?.priority} ${ARROW} ${change.after.priority}`;
    case 'reply':
    case 'check':
    case 'group_reply':
    case 'group_check': {
      const label = change.kind.replace('_', ' ');
      const name = change.after?.attr ?? change.before?.attr ?? change.target;
      if (change.after && !change.before) return `+ ${label} ${radius(change.after)}`;
      if (change.before && !change.after) return `- ${label} ${radius(change.before)}`;
      const before = change.before as RadiusRow;
      return `~ ${label} ${name} ${before.op} ${shown(before)} ${ARROW} ${change.after ? `${change.after.op === before.op ? '' : `${change.after.op} `}${shown(change.after)}` : ''}`;
    }
    case 'attr':
      if (change.after && !change.before) return `+ attr ${change.target} = ${attrValue(change.after)}`;
      if (change.before && !change.after) return `- attr ${change.target}`;
      return `~ attr ${change.target}: ${attrValue(change.before as StoredAttr)} ${ARROW} ${attrValue(change.after as StoredAttr)}`;
    case 'user':
    case 'group':
      return formatChangeLines(change)[0] ?? '';
  }
}

/** A change as `--json` prints it: encrypted values replaced by "<encrypted>". */
export function changeToJson(change: Change): Change {
  if (change.kind !== 'attr') return change;
  const hide = (a: StoredAttr | null) => (a && a.is_encrypted ? { ...a, value: '<encrypted>' } : a);
  return { ...change, before: hide(change.before), after: hide(change.after) };
}
