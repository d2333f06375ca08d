import type { Change, FieldValue, UserRecord } from '../model/change.js';
import type { SqlValue } from '../store/driver.js';
import type { PlannedRow } from '../store/import-users.js';
import type { StoredUser } from '../store/load-users.js';
import { findUserField } from '../store/user-fields.js';

/** A parsed cell as the user object holds the field (booleans are stored 1/0 but read as booleans). */
function asField(name: string, value: SqlValue): FieldValue {
  return findUserField(name)?.type === 'boolean' && typeof value === 'number' ? value === 1 : value;
}

/**
 * The changes one CSV row makes (pure): a new username creates the user — active, with
 * `username_length` from the username and `date_joined` now unless the file gives them — and
 * an existing user gets a field change per cell that differs. `last_update` becomes `now` on a
 * created or changed user unless the row gives one (an empty cell means "stamp it now").
 */
export function planImportRow(
  row: PlannedRow,
  fields: readonly string[],
  user: StoredUser | null,
  now: string,
): Change[] {
  const lastUpdate = row.values.get('last_update') ?? null;
  if (!user) {
    const record: UserRecord = {};
    for (const name of fields) record[name] = asField(name, row.values.get(name) ?? null);
    record['last_update'] = lastUpdate ?? now;
    // Defaults for columns the file does not have (an empty cell is a NULL the file asked for).
    const defaults: [string, FieldValue][] = [
      ['is_active', true],
      ['username_length', [...row.username].length],
      ['date_joined', now],
    ];
    for (const [name, value] of defaults) if (!fields.includes(name)) record[name] = value;
    return [{ kind: 'user', target: row.username, before: null, after: record }];
  }
  const changes: Change[] = [];
  for (const name of fields) {
    if (name === 'username' || name === 'last_update') continue;
    const after = asField(name, row.values.get(name) ?? null);
    const before = user.fields[name] ?? null;
    if (before !== after) changes.push({ kind: 'field', target: name, before, after });
  }
  const storedUpdate = user.fields['last_update'] ?? null;
  if (lastUpdate !== null && lastUpdate !== storedUpdate) {
    changes.push({ kind: 'field', target: 'last_update', before: storedUpdate, after: lastUpdate });
  } else if (changes.length > 0 && lastUpdate === null) {
    changes.push({ kind: 'field', target: 'last_update', before: storedUpdate, after: now, auto: true });
  }
  return changes;
}
