import type { RadiusImportPlan } from '../model/radius-import-plan.js';
import type { SqlStatement } from './driver.js';
import { PROFILE_ATTRIBUTE_TABLES } from './profile-attributes.js';

const USER_TABLE = { reply: 'reply_attributes', check: 'check_attributes' } as const;
const USER_ID = '(SELECT obj_id FROM users WHERE username = ?)';
const PROFILE_ID = '(SELECT id FROM profiles WHERE short_name = ?)';

/**
 * The SQL that carries out an import plan, in order: new users (active), new profiles, then
 * memberships and rows, which find their owner by name so one batch needs no ids back.
 */
export function radiusImportStatements(plan: RadiusImportPlan, nowIso: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  for (const username of plan.users) {
    statements.push({
      sql: `INSERT INTO users (username, username_length, is_active, date_joined, last_update) VALUES (?, ?, ?, ?, ?)`,
      params: [username, username.length, true, nowIso, nowIso],
    });
  }
  for (const shortName of plan.profiles) {
    statements.push({
      sql: 'INSERT INTO profiles (short_name, name) VALUES (?, ?)',
      params: [shortName, shortName],
    });
  }
  for (const m of plan.memberships) {
    statements.push(
      m.before === null
        ? {
            sql: `INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (${USER_ID}, ${PROFILE_ID}, ?)`,
            params: [m.username, m.groupname, m.priority],
          }
        : {
            sql: `UPDATE user_profiles SET priority = ? WHERE user_id = ${USER_ID} AND profile_id = ${PROFILE_ID}`,
            params: [m.priority, m.username, m.groupname],
          },
    );
  }
  for (const r of plan.rows) {
    const user = r.owner === 'user';
    const table = user ? USER_TABLE[r.kind] : PROFILE_ATTRIBUTE_TABLES[r.kind];
    statements.push({
      sql: `INSERT INTO ${table} (${user ? 'user_id' : 'profile_id'}, attr, op, value) VALUES (${user ? USER_ID : PROFILE_ID}, ?, ?, ?)`,
      params: [r.key, r.attr, r.op, r.value],
    });
  }
  return statements;
}
