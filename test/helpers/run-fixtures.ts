import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ndjson, type CliResult } from './cli.js';
import { advanceIdentity, dbQuery } from './db.js';
import { usrun } from './in-process.js';
import type { ItemResult } from '../../src/model/item-result.js';
import type { PlannedItem } from '../../src/run/commit-items.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { loadUsers, type StoredUser } from '../../src/store/load-users.js';

/** Writes a script (or any text file) into `dir` and returns its path. */
export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export interface FixtureUser {
  obj_id: number;
  username: string;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  klass?: string | null;
  is_active?: boolean;
  external_id?: string | null;
  description?: string | null;
  last_update?: string | null;
  last_login?: string | null;
  date_joined?: string | null;
}

/** Inserts users directly (precise fixtures); `username_length` follows the username. */
export async function addUsers(db: string, users: FixtureUser[]): Promise<void> {
  for (const u of users) {
    await dbQuery(
      db,
      `INSERT INTO users (obj_id, username, username_length, first_name, last_name, email, external_id, klass, is_active,
         date_joined, last_login, last_update, description)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        u.obj_id,
        u.username,
        u.username.length,
        u.first_name ?? null,
        u.last_name ?? null,
        u.email ?? null,
        u.external_id ?? null,
        u.klass ?? null,
        u.is_active === false ? 0 : 1,
        u.date_joined ?? '2024-01-01T00:00:00.000Z',
        u.last_login ?? null,
        u.last_update ?? '2024-06-01T00:00:00.000Z',
        u.description ?? null,
      ],
    );
  }
  await advanceIdentity(db, 'users');
}

export async function addProfiles(
  db: string,
  profiles: [id: number, shortName: string, name: string][],
): Promise<void> {
  for (const [id, shortName, name] of profiles)
    await dbQuery(db, 'INSERT INTO profiles (id, short_name, name) VALUES (?, ?, ?)', [id, shortName, name]);
  await advanceIdentity(db, 'profiles');
}

export async function addMembership(
  db: string,
  userId: number,
  profileId: number,
  priority = 1,
): Promise<void> {
  await dbQuery(db, 'INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (?, ?, ?)', [
    userId,
    profileId,
    priority,
  ]);
}

export async function addRadius(
  db: string,
  table: 'reply_attributes' | 'check_attributes',
  userId: number,
  attr: string,
  op: string,
  value: string,
): Promise<void> {
  await dbQuery(db, `INSERT INTO ${table} (user_id, attr, op, value) VALUES (?, ?, ?, ?)`, [
    userId,
    attr,
    op,
    value,
  ]);
}

/** Every stored row about one user (fields, memberships, reply/check rows, attrs), for equality. */
export async function userRows(db: string, userId: number): Promise<Record<string, unknown[]>> {
  const users = await dbQuery(db, 'SELECT * FROM users WHERE obj_id = ?', [userId]);
  // users.version is a concurrency counter that every write moves, not data.
  for (const row of users) delete row['version'];
  return {
    users,
    user_profiles: await dbQuery(db, 'SELECT * FROM user_profiles WHERE user_id = ? ORDER BY profile_id', [
      userId,
    ]),
    reply_attributes: await dbQuery(db, 'SELECT * FROM reply_attributes WHERE user_id = ? ORDER BY id', [
      userId,
    ]),
    check_attributes: await dbQuery(db, 'SELECT * FROM check_attributes WHERE user_id = ? ORDER BY id', [
      userId,
    ]),
    user_attrs: await dbQuery(db, 'SELECT * FROM user_attrs WHERE user_id = ? ORDER BY name', [userId]),
  };
}

/** `[attr, op, value]` of a user's reply or check rows, in id order. */
export async function radiusRows(
  db: string,
  table: 'reply_attributes' | 'check_attributes',
  userId: number,
): Promise<[string, string, string][]> {
  return (
    await dbQuery<{ attr: string; op: string; value: string }>(
      db,
      `SELECT attr, op, value FROM ${table} WHERE user_id = ? ORDER BY id`,
      [userId],
    )
  ).map((r) => [r.attr, r.op, r.value]);
}

/** Short names of a user's profiles, in profile id order. */
export async function profileNames(db: string, userId: number): Promise<string[]> {
  return (
    await dbQuery<{ short_name: string }>(
      db,
      'SELECT p.short_name FROM user_profiles up JOIN profiles p ON p.id = up.profile_id WHERE up.user_id = ? ORDER BY p.id',
      [userId],
    )
  ).map((r) => r.short_name);
}

export interface JsonRun extends CliResult {
  items: Record<string, any>[];
  summary: Record<string, any>;
}

/** Runs `usrun run … --json` in process and splits its NDJSON into the item lines and the summary. */
export async function runJson(
  args: readonly string[],
  options: Parameters<typeof usrun>[1] = {},
): Promise<JsonRun> {
  const r = await usrun([...args, '--json'], options);
  const lines = ndjson(r.stdout);
  const last = lines.at(-1);
  if (!last || !('summary' in last))
    throw new Error(`no summary line (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { ...r, items: lines.slice(0, -1), summary: last['summary'] as Record<string, any> };
}

/** The item of a JSON run for one user id (the first, when a CSV names the user twice). */
export function itemFor(run: JsonRun, userId: number): Record<string, any> {
  const item = run.items.find((i) => i['user_id'] === userId);
  if (!item) throw new Error(`no item for user ${userId} in:\n${run.stdout}`);
  return item;
}

/**
 * Item `seq` of a run, planned from user `id` as it is stored now: one change of a text field
 * (`target` to `after`), ready for `commitItems`.
 */
export async function plannedFieldChange(
  store: StoreDriver,
  id: number,
  seq: number,
  target: string,
  after: string,
): Promise<PlannedItem> {
  const user = (await loadUsers(store, [id])).get(id) as StoredUser;
  const result: ItemResult = {
    seq,
    user_id: id,
    username: String(user.fields['username']),
    row: null,
    line: null,
    status: 'changed',
    changes: [{ kind: 'field', target, before: user.fields[target] ?? null, after }],
    logs: [],
    error: null,
  };
  return { result, user };
}
