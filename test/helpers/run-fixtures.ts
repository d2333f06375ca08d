import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ndjson, runCli, type CliResult } from './cli.js';
import { sqlite } from './dump.js';

/** Creates (or migrates) a database through the real CLI, optionally with N demo users. */
export async function initDb(path: string, demo?: number): Promise<void> {
  const r = await runCli(['init', '--db', path, ...(demo === undefined ? [] : ['--demo', String(demo)])]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** Copies a closed SQLite database file (and its WAL, if one was left behind). */
export function copyDb(from: string, to: string): string {
  copyFileSync(from, to);
  if (existsSync(`${from}-wal`)) copyFileSync(`${from}-wal`, `${to}-wal`);
  return to;
}

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
export function addUsers(db: string, users: FixtureUser[]): void {
  for (const u of users) {
    sqlite(
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
}

export function addProfiles(db: string, profiles: [id: number, shortName: string, name: string][]): void {
  for (const [id, shortName, name] of profiles)
    sqlite(db, 'INSERT INTO profiles (id, short_name, name) VALUES (?, ?, ?)', [id, shortName, name]);
}

export function addMembership(db: string, userId: number, profileId: number, priority = 1): void {
  sqlite(db, 'INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (?, ?, ?)', [
    userId,
    profileId,
    priority,
  ]);
}

export function addRadius(
  db: string,
  table: 'reply_attributes' | 'check_attributes',
  userId: number,
  attr: string,
  op: string,
  value: string,
): void {
  sqlite(db, `INSERT INTO ${table} (user_id, attr, op, value) VALUES (?, ?, ?, ?)`, [
    userId,
    attr,
    op,
    value,
  ]);
}

/** Every stored row about one user (fields, memberships, reply/check rows, attrs), for equality. */
export function userRows(db: string, userId: number): Record<string, unknown[]> {
  return {
    users: sqlite(db, 'SELECT * FROM users WHERE obj_id = ?', [userId]),
    user_profiles: sqlite(db, 'SELECT * FROM user_profiles WHERE user_id = ? ORDER BY profile_id', [userId]),
    reply_attributes: sqlite(db, 'SELECT * FROM reply_attributes WHERE user_id = ? ORDER BY id', [userId]),
    check_attributes: sqlite(db, 'SELECT * FROM check_attributes WHERE user_id = ? ORDER BY id', [userId]),
    user_attrs: sqlite(db, 'SELECT * FROM user_attrs WHERE user_id = ? ORDER BY name', [userId]),
  };
}

/** `[attr, op, value]` of a user's reply or check rows, in id order. */
export function radiusRows(
  db: string,
  table: 'reply_attributes' | 'check_attributes',
  userId: number,
): [string, string, string][] {
  return sqlite<{ attr: string; op: string; value: string }>(
    db,
    `SELECT attr, op, value FROM ${table} WHERE user_id = ? ORDER BY id`,
    [userId],
  ).map((r) => [r.attr, r.op, r.value]);
}

/** Short names of a user's profiles, in profile id order. */
export function profileNames(db: string, userId: number): string[] {
  return sqlite<{ short_name: string }>(
    db,
    'SELECT p.short_name FROM user_profiles up JOIN profiles p ON p.id = up.profile_id WHERE up.user_id = ? ORDER BY p.id',
    [userId],
  ).map((r) => r.short_name);
}

export interface JsonRun extends CliResult {
  items: Record<string, any>[];
  summary: Record<string, any>;
}

/** Runs `usrun run … --json` and splits its NDJSON into the item lines and the summary. */
export async function runJson(
  args: readonly string[],
  options: Parameters<typeof runCli>[1] = {},
): Promise<JsonRun> {
  const r = await runCli([...args, '--json'], options);
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
