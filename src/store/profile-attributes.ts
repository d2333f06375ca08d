import type { GroupRowChange, RadiusRow } from '../model/change.js';
import type { StoreDriver } from './driver.js';
import type { Reader } from './load-users.js';

/** A profile's own reply and check rows (FreeRADIUS radgroupreply / radgroupcheck), in id order. */
export interface ProfileAttributes {
  attributes: RadiusRow[];
  check_attributes: RadiusRow[];
}

export const PROFILE_ATTRIBUTE_TABLES = {
  reply: 'profile_reply_attributes',
  check: 'profile_check_attributes',
} as const;

/** Every profile's reply and check rows, keyed by profile id (profiles without rows are absent). */
export async function loadProfileAttributes(store: Reader): Promise<Map<number, ProfileAttributes>> {
  const byProfile = new Map<number, ProfileAttributes>();
  for (const [kind, table] of Object.entries(PROFILE_ATTRIBUTE_TABLES)) {
    const rows = await store.query<{
      profile_id: number;
      id: number;
      attr: string;
      op: string;
      value: string;
    }>(`SELECT profile_id, id, attr, op, value FROM ${table} ORDER BY profile_id, id`);
    for (const r of rows) {
      let entry = byProfile.get(r.profile_id);
      if (!entry) byProfile.set(r.profile_id, (entry = { attributes: [], check_attributes: [] }));
      (kind === 'reply' ? entry.attributes : entry.check_attributes).push({
        id: r.id,
        attr: r.attr,
        op: r.op,
        value: r.value,
      });
    }
  }
  return byProfile;
}

/** A profile as stored, with its own rows and its member count: what undo checks it against. */
export interface StoredProfile {
  id: number;
  short_name: string;
  /** `profiles.version` when it was read: a commit of its rows applies only while it is unchanged. */
  version: number;
  name: string | null;
  description: string | null;
  attributes: RadiusRow[];
  check_attributes: RadiusRow[];
  members: number;
}

/** One profile by short_name, or null. `reader` may be a writer, to see its open group. */
export async function loadProfile(reader: Reader, shortName: string): Promise<StoredProfile | null> {
  const [p] = await reader.query<{
    id: number;
    version: number;
    name: string | null;
    description: string | null;
  }>('SELECT id, version, name, description FROM profiles WHERE short_name = ?', [shortName]);
  if (!p) return null;
  const id = Number(p.id);
  const rows = async (table: string) =>
    (
      await reader.query<RadiusRow>(
        `SELECT id, attr, op, value FROM ${table} WHERE profile_id = ? ORDER BY id`,
        [id],
      )
    ).map((r) => ({ id: Number(r.id), attr: r.attr, op: r.op, value: r.value }));
  const [count] = await reader.query<{ n: number }>(
    'SELECT count(*) AS n FROM user_profiles WHERE profile_id = ?',
    [id],
  );
  return {
    id,
    short_name: shortName,
    version: Number(p.version),
    name: p.name,
    description: p.description,
    attributes: await rows(PROFILE_ATTRIBUTE_TABLES.reply),
    check_attributes: await rows(PROFILE_ATTRIBUTE_TABLES.check),
    members: Number(count?.n ?? 0),
  };
}

/**
 * The changes that turn a profile's `current` rows into `wanted` (pure): rows missing from
 * `wanted` deleted, rows kept by id changed when their operator or value did, rows with id null
 * added in order.
 */
export function groupRowChanges(
  kind: 'reply' | 'check',
  shortName: string,
  current: readonly RadiusRow[],
  wanted: readonly RadiusRow[],
): GroupRowChange[] {
  const changeKind = kind === 'reply' ? 'group_reply' : 'group_check';
  const kept = new Map(wanted.filter((r) => r.id !== null).map((r) => [r.id, r]));
  const changes: GroupRowChange[] = [];
  for (const row of current) {
    const next = kept.get(row.id);
    if (!next) changes.push({ kind: changeKind, target: shortName, before: row, after: null });
    else if (next.value !== row.value || next.op !== row.op)
      changes.push({ kind: changeKind, target: shortName, before: row, after: next });
  }
  for (const row of wanted) {
    if (row.id === null) changes.push({ kind: changeKind, target: shortName, before: null, after: row });
  }
  return changes;
}

/** A profile with its own rows, as the sandbox's profile catalog carries it. */
export interface CatalogProfile {
  id: number;
  short_name: string;
  name: string | null;
  attributes: { attr: string; op: string; value: string }[];
  check_attributes: { attr: string; op: string; value: string }[];
}

/** Every profile in id order with its reply and check rows (without row ids). */
export async function loadProfileCatalog(store: StoreDriver): Promise<CatalogProfile[]> {
  const rows = await loadProfileAttributes(store);
  const plain = (list: readonly RadiusRow[] = []) => list.map(({ attr, op, value }) => ({ attr, op, value }));
  const profiles = await store.db
    .selectFrom('profiles')
    .select(['id', 'short_name', 'name'])
    .orderBy('id')
    .execute();
  return profiles.map((p) => ({
    ...p,
    attributes: plain(rows.get(p.id)?.attributes),
    check_attributes: plain(rows.get(p.id)?.check_attributes),
  }));
}
