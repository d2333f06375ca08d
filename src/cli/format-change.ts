import type { Change, RadiusRow, StoredAttr } from '../model/change.js';

const ARROW = '→';

function attrValue(a: StoredAttr): string {
  const value = a.is_encrypted ? '<encrypted>' : a.value;
  return a.expires_at ? `${value} (expires ${a.expires_at})` : value;
}

const radius = (r: RadiusRow) => `${r.attr} ${r.op} ${r.value}`;

/**
 * One diff line per change, as the dry run and `runs show` print them:
 * `email: "a@x" → "b@x"`, `+ profile aaa-01`, `+ reply Session-Timeout := 3600`, `~ attr plan …`.
 * Encrypted values are never shown.
 */
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
      if (change.after && !change.before) return `+ ${change.kind} ${radius(change.after)}`;
      if (change.before && !change.after) return `- ${change.kind} ${radius(change.before)}`;
      return `~ ${change.kind} ${change.target} ${change.before?.op} ${change.before?.value} ${ARROW} ${change.after?.value}`;
    case 'attr':
      if (change.after && !change.before) return `+ attr ${change.target} = ${attrValue(change.after)}`;
      if (change.before && !change.after) return `- attr ${change.target}`;
      return `~ attr ${change.target}: ${attrValue(change.before as StoredAttr)} ${ARROW} ${attrValue(change.after as StoredAttr)}`;
  }
}

/** A change as `--json` prints it: encrypted values replaced by "<encrypted>". */
export function changeToJson(change: Change): Change {
  if (change.kind !== 'attr') return change;
  const hide = (a: StoredAttr | null) => (a && a.is_encrypted ? { ...a, value: '<encrypted>' } : a);
  return { ...change, before: hide(change.before), after: hide(change.after) };
}
