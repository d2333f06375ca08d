import type { SqlStatement, SqlValue } from './driver.js';
import type { Change, RadiusRow } from '../model/change.js';

const RADIUS_TABLE = { reply: 'reply_attributes', check: 'check_attributes' } as const;

/**
 * The SQL that applies `changes` to user `userId`: one UPDATE for all field changes (and, given
 * `version`, the check that the user is still at that version), then one statement per other change. Pure; identifiers come only from fixed tables, values are bound.
 * Removing a radius row matches it by id when known, else by content (one row): that is how
 * undo removes a row a run added.
 */
export function changeStatements(
  userId: number,
  changes: readonly Change[],
  nowIso: string,
  version?: number,
): SqlStatement[] {
  const statements: SqlStatement[] = [];
  const fields = changes.filter((c) => c.kind === 'field');
  const sets = fields.map((c) => `${c.target} = ?`);
  const values = fields.map((c) => c.after as SqlValue);
  if (version !== undefined) {
    // First, and with the field changes: the user must still be at the version its changes were
    // planned from, or nothing of the unit is written (StaleRowError).
    statements.push({
      sql: `UPDATE users SET ${['version = version + 1', ...sets].join(', ')} WHERE obj_id = ? AND version = ?`,
      params: [...values, userId, version],
      expectRows: 1,
    });
  } else if (fields.length > 0) {
    statements.push({
      sql: `UPDATE users SET ${sets.join(', ')} WHERE obj_id = ?`,
      params: [...values, userId],
    });
  }
  for (const c of changes) {
    switch (c.kind) {
      case 'field':
        break;
      case 'profile':
        if (c.before && !c.after) {
          statements.push({
            sql: 'DELETE FROM user_profiles WHERE user_id = ? AND profile_id = ?',
            params: [userId, c.before.id],
          });
        } else if (c.after && !c.before) {
          statements.push({
            sql: 'INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (?, ?, ?)',
            params: [userId, c.after.id, c.after.priority],
          });
        } else if (c.after) {
          statements.push({
            sql: 'UPDATE user_profiles SET priority = ? WHERE user_id = ? AND profile_id = ?',
            params: [c.after.priority, userId, c.after.id],
          });
        }
        break;
      case 'reply':
      case 'check':
        statements.push(radiusStatement(RADIUS_TABLE[c.kind], userId, c.before, c.after));
        break;
      case 'attr':
        if (c.before && !c.after) {
          statements.push({
            sql: 'DELETE FROM user_attrs WHERE user_id = ? AND name = ?',
            params: [userId, c.target],
          });
        } else if (c.after && !c.before) {
          statements.push({
            sql: `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at)
                  VALUES (?, ?, ?, ?, ?, ?, ?)`,
            params: [
              userId,
              c.target,
              c.after.value,
              c.after.is_encrypted,
              c.after.expires_at,
              c.after.created_at ?? nowIso,
              c.after.updated_at ?? nowIso,
            ],
          });
        } else if (c.after) {
          statements.push({
            sql: 'UPDATE user_attrs SET value = ?, is_encrypted = ?, expires_at = ?, updated_at = ? WHERE user_id = ? AND name = ?',
            params: [
              c.after.value,
              c.after.is_encrypted,
              c.after.expires_at,
              c.after.updated_at ?? nowIso,
              userId,
              c.target,
            ],
          });
        }
        break;
    }
  }
  return statements;
}

function radiusStatement(
  table: string,
  userId: number,
  before: RadiusRow | null,
  after: RadiusRow | null,
): SqlStatement {
  if (after && !before) {
    // A row with an id is one an undo puts back where it was.
    return after.id !== null
      ? {
          sql: `INSERT INTO ${table} (id, user_id, attr, op, value) VALUES (?, ?, ?, ?, ?)`,
          params: [after.id, userId, after.attr, after.op, after.value],
        }
      : {
          sql: `INSERT INTO ${table} (user_id, attr, op, value) VALUES (?, ?, ?, ?)`,
          params: [userId, after.attr, after.op, after.value],
        };
  }
  if (before && after) {
    return before.id !== null
      ? {
          sql: `UPDATE ${table} SET value = ? WHERE id = ? AND user_id = ?`,
          params: [after.value, before.id, userId],
        }
      : {
          sql: `UPDATE ${table} SET value = ? WHERE id = (SELECT id FROM ${table} WHERE user_id = ? AND attr = ? AND op = ? AND value = ? ORDER BY id LIMIT 1)`,
          params: [after.value, userId, before.attr, before.op, before.value],
        };
  }
  const row = before as RadiusRow;
  return row.id !== null
    ? { sql: `DELETE FROM ${table} WHERE id = ? AND user_id = ?`, params: [row.id, userId] }
    : {
        sql: `DELETE FROM ${table} WHERE id = (SELECT id FROM ${table} WHERE user_id = ? AND attr = ? AND op = ? AND value = ? ORDER BY id LIMIT 1)`,
        params: [userId, row.attr, row.op, row.value],
      };
}
