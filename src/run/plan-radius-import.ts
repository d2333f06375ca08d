import type { FreeradiusAttributeRow, FreeradiusTables } from '../model/freeradius-tables.js';
import { PROFILE_SHORT_NAME } from '../model/profile-short-name.js';
import type {
  ImportMembership,
  ImportRow,
  ImportTarget,
  RadiusImportPlan,
} from '../model/radius-import-plan.js';
import { checkRadiusRow, RejectedChange } from './plan-user-changes.js';

const rowKey = (r: { attr: string; op: string; value: string }) => `${r.attr}\u0000${r.op}\u0000${r.value}`;

/**
 * Plans adopting FreeRADIUS's tables into usrun's schema: a user per distinct username (in
 * radcheck, radreply or radusergroup), a profile per groupname, each membership with its
 * priority, each attribute row with its operator. Nothing is removed or reordered; a source row
 * counts as present when the owner already has an identical row not matched by another source
 * row, so running the same import again plans nothing. Cleartext passwords stay check rows. Pure.
 */
export function planRadiusImport(source: FreeradiusTables, target: ImportTarget): RadiusImportPlan {
  const problems: string[] = [];
  const users: string[] = [];
  const profiles: string[] = [];
  const seenUsers = new Set<string>();
  const seenProfiles = new Set<string>();
  const noteUser = (name: string, where: string) => {
    if (seenUsers.has(name)) return;
    seenUsers.add(name);
    if (name.length === 0 || name.length > 64) {
      problems.push(`${where}: username ${JSON.stringify(name)} must have 1 to 64 characters`);
    } else if (!target.users.has(name)) users.push(name);
  };
  const noteProfile = (name: string, where: string) => {
    if (seenProfiles.has(name)) return;
    seenProfiles.add(name);
    if (!PROFILE_SHORT_NAME.test(name)) {
      problems.push(
        `${where}: groupname ${JSON.stringify(name)} is not a valid profile short_name (letters, digits, . _ -, at most 64)`,
      );
    } else if (!target.profiles.has(name)) profiles.push(name);
  };

  // Existing rows not yet matched by a source row, per owner and kind, as a multiset.
  const unmatched = new Map<string, Map<string, number>>();
  const pool = (owner: 'user' | 'profile', key: string, kind: 'reply' | 'check') => {
    const id = `${owner}\u0000${key}\u0000${kind}`;
    let counts = unmatched.get(id);
    if (!counts) {
      counts = new Map();
      const existing = owner === 'user' ? target.users.get(key) : target.profiles.get(key);
      for (const r of (kind === 'reply' ? existing?.attributes : existing?.check_attributes) ?? [])
        counts.set(rowKey(r), (counts.get(rowKey(r)) ?? 0) + 1);
      unmatched.set(id, counts);
    }
    return counts;
  };

  const rows: ImportRow[] = [];
  let present = 0;
  const take = (
    table: string,
    owner: 'user' | 'profile',
    kind: 'reply' | 'check',
    list: readonly FreeradiusAttributeRow[],
  ) => {
    list.forEach((r, i) => {
      const where = `${table} row ${i + 1}`;
      if (owner === 'user') noteUser(r.key, where);
      else noteProfile(r.key, where);
      try {
        checkRadiusRow(kind, { id: null, attr: r.attr, op: r.op, value: r.value });
      } catch (error) {
        if (!(error instanceof RejectedChange)) throw error;
        problems.push(`${where} (${r.key}): ${error.message}`);
        return;
      }
      const counts = pool(owner, r.key, kind);
      const n = counts.get(rowKey(r)) ?? 0;
      if (n > 0) {
        counts.set(rowKey(r), n - 1);
        present += 1;
      } else rows.push({ owner, key: r.key, kind, attr: r.attr, op: r.op, value: r.value });
    });
  };
  take('radcheck', 'user', 'check', source.radcheck);
  take('radreply', 'user', 'reply', source.radreply);

  const memberships: ImportMembership[] = [];
  const seenMemberships = new Set<string>();
  source.radusergroup.forEach((m, i) => {
    const where = `radusergroup row ${i + 1}`;
    noteUser(m.username, where);
    noteProfile(m.groupname, where);
    if (!Number.isSafeInteger(m.priority)) {
      problems.push(`${where}: priority ${JSON.stringify(m.priority)} is not an integer`);
      return;
    }
    const id = `${m.username}\u0000${m.groupname}`;
    if (seenMemberships.has(id)) return;
    seenMemberships.add(id);
    const before = target.users.get(m.username)?.profiles.get(m.groupname) ?? null;
    if (before === m.priority) present += 1;
    else memberships.push({ ...m, before });
  });
  take('radgroupcheck', 'profile', 'check', source.radgroupcheck);
  take('radgroupreply', 'profile', 'reply', source.radgroupreply);

  return { users, profiles, memberships, rows, present, problems };
}
