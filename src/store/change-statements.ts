import type { DialectCapabilities, SqlStatement, SqlValue } from './driver.js';
import type { Change, RadiusRow } from '../model/change.js';
import { PROFILE_ATTRIBUTE_TABLES } from './profile-attributes.js';

const RADIUS_TABLE = { reply: 'reply_attributes', check: 'check_attributes' } as const;
const GROUP_TABLE = {
  group_reply: PROFILE_ATTRIBUTE_TABLES.reply,
  group_check: PROFILE_ATTRIBUTE_TABLES.check,
} as const;

/**
 * How a statement names a row's owner: a bound id, or — for a user or profile created earlier in
 * the same unit, whose id nobody knows yet — a subquery on its unique name. The subquery is plain
 * SQL every dialect runs, so no dialect needs to hand ids back from an INSERT.
 */
export interface OwnerRef {
  readonly sql: string;
  readonly params: readonly SqlValue[];
  /** Runs once, as soon as the owner exists, before any statement uses `sql` (captureId). */
  readonly capture?: SqlStatement;
}

/** How the dialect names a row created in the same unit (DialectCapabilities.captureId). */
export type CaptureId = DialectCapabilities['captureId'];

/** A row found by `subquery` with `params`: the subquery itself, or its id captured once. */
function byName(subquery: string, params: readonly SqlValue[], name: string, captureId: CaptureId): OwnerRef {
  if (!captureId) return { sql: subquery, params };
  const { set, ref } = captureId(name, subquery);
  return { sql: ref, params: [], capture: { sql: set, params } };
}

/** The user with this id. */
export const userById = (id: number): OwnerRef => ({ sql: '?', params: [id] });
/** The user with this username (unique), e.g. one the unit has just created. */
export const userByName = (username: string, captureId: CaptureId = null): OwnerRef =>
  byName('(SELECT obj_id FROM users WHERE username = ?)', [username], 'usrun_user', captureId);
/** The profile with this short_name (unique). */
export const profileByName = (shortName: string, captureId: CaptureId = null): OwnerRef =>
  byName('(SELECT id FROM profiles WHERE short_name = ?)', [shortName], 'usrun_profile', captureId);

/** A profile and its version when a profile's item was planned from it. */
export interface ProfileVersion {
  readonly short_name: string;
  readonly version: number;
}

/** Options of `changeStatements`. */
export interface ChangeStatementOptions {
  /** The user's version when its changes were planned: the unit applies only while it holds. */
  version?: number;
  /** Likewise for the profile whose own rows the changes edit. */
  profile?: ProfileVersion;
  /** The dialect's way of naming rows created in the unit (DialectCapabilities.captureId). */
  captureId?: CaptureId;
}

/**
 * The SQL that applies `changes` to one user: one UPDATE for all field changes (and, given
 * `version`, the check that the user is still at that version), then one statement per other
 * change. `user` is null when the changes carry no user-level change but group ones (a profile's
 * item). Pure; identifiers come only from fixed tables and the user-field list, values are bound.
 * Removing a radius row matches it by id when known, else by content (one row): that is how
 * undo removes a row a run added.
 */
export function changeStatements(
  user: OwnerRef | null,
  changes: readonly Change[],
  nowIso: string,
  options: ChangeStatementOptions = {},
): SqlStatement[] {
  const { version, profile: guarded, captureId = null } = options;
  const statements: SqlStatement[] = [];
  if (guarded) {
    // First: the profile must still be at the version its rows were planned from, or nothing of
    // the unit is written (StaleRowError), as for a user below.
    statements.push({
      sql: 'UPDATE profiles SET version = version + 1 WHERE short_name = ? AND version = ?',
      params: [guarded.short_name, guarded.version],
      expectRows: 1,
    });
  }
  const owner = (): OwnerRef => {
    // A planner bug, not bad input: user-level changes always come with their user.
    if (!user) throw new Error('a user-level change without its user');
    return user;
  };
  // A created user is inserted before anything refers to it.
  for (const c of changes) {
    if (c.kind === 'user' && c.after && !c.before) {
      const columns = Object.keys(c.after);
      statements.push({
        sql: `INSERT INTO users (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        params: columns.map((name) => c.after?.[name] ?? null),
      });
    }
  }
  if (user?.capture) statements.push(user.capture);
  const fields = changes.filter((c) => c.kind === 'field');
  const sets = fields.map((c) => `${c.target} = ?`);
  const values = fields.map((c) => c.after as SqlValue);
  if (version !== undefined) {
    // First, and with the field changes: the user must still be at the version its changes were
    // planned from, or nothing of the unit is written (StaleRowError).
    const u = owner();
    statements.push({
      sql: `UPDATE users SET ${['version = version + 1', ...sets].join(', ')} WHERE obj_id = ${u.sql} AND version = ?`,
      params: [...values, ...u.params, version],
      expectRows: 1,
    });
  } else if (fields.length > 0) {
    const u = owner();
    statements.push({
      sql: `UPDATE users SET ${sets.join(', ')} WHERE obj_id = ${u.sql}`,
      params: [...values, ...u.params],
    });
  }
  const profiles = new Map<string, OwnerRef>();
  for (const c of changes) {
    switch (c.kind) {
      case 'field':
        break;
      case 'user':
        // Deleting the user takes its memberships, rows and attrs with it (ON DELETE CASCADE);
        // an undo lists their inverse changes first anyway, so the journal shows them.
        if (c.before && !c.after) {
          const u = owner();
          statements.push({ sql: `DELETE FROM users WHERE obj_id = ${u.sql}`, params: [...u.params] });
        }
        break;
      case 'profile': {
        const u = owner();
        if (c.before && !c.after) {
          statements.push({
            sql: `DELETE FROM user_profiles WHERE user_id = ${u.sql} AND profile_id = ?`,
            params: [...u.params, c.before.id],
          });
        } else if (c.after && !c.before) {
          statements.push({
            sql: `INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (${u.sql}, ?, ?)`,
            params: [...u.params, c.after.id, c.after.priority],
          });
        } else if (c.after) {
          statements.push({
            sql: `UPDATE user_profiles SET priority = ? WHERE user_id = ${u.sql} AND profile_id = ?`,
            params: [c.after.priority, ...u.params, c.after.id],
          });
        }
        break;
      }
      case 'reply':
      case 'check':
        statements.push(radiusStatement(RADIUS_TABLE[c.kind], 'user_id', owner(), c.before, c.after));
        break;
      case 'group':
        if (c.after && !c.before) {
          // With an id: an undo puts a deleted profile back where its memberships point.
          statements.push(
            c.after.id !== undefined
              ? {
                  sql: 'INSERT INTO profiles (id, short_name, name, description) VALUES (?, ?, ?, ?)',
                  params: [c.after.id, c.target, c.after.name, c.after.description],
                }
              : {
                  sql: 'INSERT INTO profiles (short_name, name, description) VALUES (?, ?, ?)',
                  params: [c.target, c.after.name, c.after.description],
                },
          );
        } else if (c.before && !c.after) {
          statements.push({ sql: 'DELETE FROM profiles WHERE short_name = ?', params: [c.target] });
        } else if (c.after) {
          statements.push({
            sql: 'UPDATE profiles SET name = ?, description = ? WHERE short_name = ?',
            params: [c.after.name, c.after.description, c.target],
          });
        }
        break;
      case 'group_reply':
      case 'group_check': {
        let profile = profiles.get(c.target);
        if (!profile) {
          // Named once the profile exists: after its INSERT (a change listed before its rows).
          profile = profileByName(c.target, captureId);
          profiles.set(c.target, profile);
          if (profile.capture) statements.push(profile.capture);
        }
        statements.push(radiusStatement(GROUP_TABLE[c.kind], 'profile_id', profile, c.before, c.after));
        break;
      }
      case 'attr': {
        const u = owner();
        if (c.before && !c.after) {
          statements.push({
            sql: `DELETE FROM user_attrs WHERE user_id = ${u.sql} AND name = ?`,
            params: [...u.params, c.target],
          });
        } else if (c.after && !c.before) {
          statements.push({
            sql: `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at)
                  VALUES (${u.sql}, ?, ?, ?, ?, ?, ?)`,
            params: [
              ...u.params,
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
            sql: `UPDATE user_attrs SET value = ?, is_encrypted = ?, expires_at = ?, updated_at = ? WHERE user_id = ${u.sql} AND name = ?`,
            params: [
              c.after.value,
              c.after.is_encrypted,
              c.after.expires_at,
              c.after.updated_at ?? nowIso,
              ...u.params,
              c.target,
            ],
          });
        }
        break;
      }
    }
  }
  return statements;
}

/** One row of a user's (reply/check) or a profile's (group_reply/group_check) radius table. */
function radiusStatement(
  table: string,
  ownerColumn: 'user_id' | 'profile_id',
  owner: OwnerRef,
  before: RadiusRow | null,
  after: RadiusRow | null,
): SqlStatement {
  const o = owner.sql;
  const byContent = (row: RadiusRow) => ({
    sql: `(SELECT id FROM ${table} WHERE ${ownerColumn} = ${o} AND attr = ? AND op = ? AND value = ? ORDER BY id LIMIT 1)`,
    params: [...owner.params, row.attr, row.op, row.value],
  });
  if (after && !before) {
    // A row with an id is one an undo puts back where it was.
    return after.id !== null
      ? {
          sql: `INSERT INTO ${table} (id, ${ownerColumn}, attr, op, value) VALUES (?, ${o}, ?, ?, ?)`,
          params: [after.id, ...owner.params, after.attr, after.op, after.value],
        }
      : {
          sql: `INSERT INTO ${table} (${ownerColumn}, attr, op, value) VALUES (${o}, ?, ?, ?)`,
          params: [...owner.params, after.attr, after.op, after.value],
        };
  }
  if (before && after) {
    if (before.id !== null) {
      return {
        sql: `UPDATE ${table} SET op = ?, value = ? WHERE id = ? AND ${ownerColumn} = ${o}`,
        params: [after.op, after.value, before.id, ...owner.params],
      };
    }
    const found = byContent(before);
    return {
      sql: `UPDATE ${table} SET op = ?, value = ? WHERE id = ${found.sql}`,
      params: [after.op, after.value, ...found.params],
    };
  }
  const row = before as RadiusRow;
  if (row.id !== null) {
    return {
      sql: `DELETE FROM ${table} WHERE id = ? AND ${ownerColumn} = ${o}`,
      params: [row.id, ...owner.params],
    };
  }
  const found = byContent(row);
  return { sql: `DELETE FROM ${table} WHERE id = ${found.sql}`, params: [...found.params] };
}
