import type { ProfileRef, UserFieldValues } from '../model/user-snapshot.js';
import type { RadiusRow, StoredAttr } from '../model/change.js';
import type { SqlValue } from './driver.js';
import { USER_FIELDS } from './user-fields.js';

/** A user as stored, with everything a run may read or change. Trusted: it comes from the database. */
export interface StoredUser {
  id: number;
  /** `users.version` when it was read: a commit applies only while it is unchanged. */
  version: number;
  fields: UserFieldValues;
  profiles: ProfileRef[];
  attributes: RadiusRow[];
  check_attributes: RadiusRow[];
  /** Every row, expired ones included: a `set` over an expired name updates that row. */
  attrs: (StoredAttr & { name: string })[];
}

const CHUNK = 500;

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** Normalizes one `users` row to the JS representation (booleans, numbers, ISO strings). */
export function toFieldValues(row: Record<string, unknown>): UserFieldValues {
  const fields: UserFieldValues = {};
  for (const field of USER_FIELDS) {
    const value = row[field.name];
    if (value === null || value === undefined) fields[field.name] = null;
    else if (field.type === 'boolean') fields[field.name] = value === true || value === 1 || value === '1';
    else if (field.type === 'integer') fields[field.name] = Number(value);
    else fields[field.name] = String(value);
  }
  return fields;
}

/** Anything that reads rows: the store, or a writer whose open group the reads must see. */
export interface Reader {
  query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

/**
 * Loads users with their profiles, reply/check attributes and attrs: five queries per chunk of
 * ids, never one per user. Returns them keyed by id; ids not found are absent. `rows` are
 * `users` rows the caller already read (a filtered selection's page): those are not read again.
 */
export async function loadUsers(
  reader: Reader,
  ids: readonly number[],
  rows: ReadonlyMap<number, Record<string, unknown>> = new Map(),
): Promise<Map<number, StoredUser>> {
  const users = new Map<number, StoredUser>();
  for (let start = 0; start < ids.length; start += CHUNK) {
    const chunk = ids.slice(start, start + CHUNK);
    const list = placeholders(chunk.length);
    const missing = chunk.filter((id) => !rows.has(id));
    const read =
      missing.length === 0
        ? []
        : await reader.query<Record<string, unknown>>(
            `SELECT * FROM users WHERE obj_id IN (${placeholders(missing.length)})`,
            missing,
          );
    const known: Record<string, unknown>[] = [];
    for (const id of chunk) {
      const row = rows.get(id);
      if (row) known.push(row);
    }
    for (const row of [...known, ...read]) {
      const id = Number(row['obj_id']);
      users.set(id, {
        id,
        version: Number(row['version'] ?? 0),
        fields: toFieldValues(row),
        profiles: [],
        attributes: [],
        check_attributes: [],
        attrs: [],
      });
    }
    const memberships = await reader.query<{
      user_id: number;
      id: number;
      short_name: string;
      name: string | null;
      priority: number;
    }>(
      `SELECT up.user_id, p.id, p.short_name, p.name, up.priority FROM user_profiles up
       JOIN profiles p ON p.id = up.profile_id WHERE up.user_id IN (${list}) ORDER BY up.user_id, up.priority, p.id`,
      chunk,
    );
    for (const m of memberships) {
      users
        .get(m.user_id)
        ?.profiles.push({ id: m.id, short_name: m.short_name, name: m.name, priority: m.priority });
    }
    for (const table of ['reply_attributes', 'check_attributes'] as const) {
      const attrRows = await reader.query<{
        user_id: number;
        id: number;
        attr: string;
        op: string;
        value: string;
      }>(
        `SELECT user_id, id, attr, op, value FROM ${table} WHERE user_id IN (${list}) ORDER BY user_id, id`,
        chunk,
      );
      const key = table === 'reply_attributes' ? 'attributes' : 'check_attributes';
      for (const r of attrRows)
        users.get(r.user_id)?.[key].push({ id: r.id, attr: r.attr, op: r.op, value: r.value });
    }
    const attrRows = await reader.query<{
      user_id: number;
      name: string;
      value: string;
      is_encrypted: number | boolean;
      expires_at: string | null;
      created_at: string;
      updated_at: string;
    }>(
      `SELECT user_id, name, value, is_encrypted, expires_at, created_at, updated_at FROM user_attrs
       WHERE user_id IN (${list}) ORDER BY user_id, name`,
      chunk,
    );
    for (const r of attrRows) {
      users.get(r.user_id)?.attrs.push({
        name: r.name,
        value: r.value,
        is_encrypted: r.is_encrypted === true || r.is_encrypted === 1,
        expires_at: r.expires_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
      });
    }
  }
  return users;
}

/** The user with this username as it is now (for an item planned again), or null. */
export async function loadUserByName(reader: Reader, username: string): Promise<StoredUser | null> {
  const [found] = await reader.query<{ obj_id: number }>('SELECT obj_id FROM users WHERE username = ?', [
    username,
  ]);
  if (!found) return null;
  return (await loadUsers(reader, [Number(found.obj_id)])).get(Number(found.obj_id)) ?? null;
}
