import type { Change } from '../model/change.js';
import type { FreeradiusTables } from '../model/freeradius-tables.js';
import { plannedItem } from '../model/item-result.js';
import type { ImportTarget, RadiusImportPlan } from '../model/radius-import-plan.js';
import { loadUserByName, loadUsers, type Reader, type StoredUser } from '../store/load-users.js';
import { readImportTarget } from '../store/read-import-target.js';
import { BARRIER, type PlannedItem } from './commit-items.js';
import type { PlanStep } from './list-source.js';
import { planRadiusImport } from './plan-radius-import.js';

const CHUNK = 500;

/** Names in order of first appearance. */
const distinct = (names: Iterable<string>) => [...new Set(names)];

/** `list` grouped by `key`, each group in list order. */
function groupBy<T>(list: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of list) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** The source's rows about one user only: what a user's item is planned again from. */
function tablesOf(source: FreeradiusTables, username: string): FreeradiusTables {
  return {
    radcheck: source.radcheck.filter((r) => r.key === username),
    radreply: source.radreply.filter((r) => r.key === username),
    radusergroup: source.radusergroup.filter((m) => m.username === username),
    radgroupcheck: [],
    radgroupreply: [],
    missing: source.missing,
  };
}

/** The source's rows about one group only: what a profile's item is planned again from. */
function groupTablesOf(source: FreeradiusTables, groupname: string): FreeradiusTables {
  return {
    radcheck: [],
    radreply: [],
    radusergroup: [],
    radgroupcheck: source.radgroupcheck.filter((r) => r.key === groupname),
    radgroupreply: source.radgroupreply.filter((r) => r.key === groupname),
    missing: source.missing,
  };
}

/** A plan indexed by owner, so that planning each item does not scan the whole plan. */
interface PlanIndex {
  newUsers: Set<string>;
  newProfiles: Set<string>;
  memberships: Map<string, RadiusImportPlan['memberships']>;
  userRows: Map<string, RadiusImportPlan['rows']>;
  profileRows: Map<string, RadiusImportPlan['rows']>;
}

function indexPlan(plan: RadiusImportPlan): PlanIndex {
  return {
    newUsers: new Set(plan.users),
    newProfiles: new Set(plan.profiles),
    memberships: groupBy(plan.memberships, (m) => m.username),
    userRows: groupBy(
      plan.rows.filter((r) => r.owner === 'user'),
      (r) => r.key,
    ),
    profileRows: groupBy(
      plan.rows.filter((r) => r.owner === 'profile'),
      (r) => r.key,
    ),
  };
}

/** A profile's changes (pure): created if new, then its new rows in the source's order. */
function profileChanges(plan: PlanIndex, groupname: string): Change[] {
  const changes: Change[] = [];
  if (plan.newProfiles.has(groupname)) {
    changes.push({
      kind: 'group',
      target: groupname,
      before: null,
      after: { name: groupname, description: null },
    });
  }
  for (const r of plan.profileRows.get(groupname) ?? []) {
    const kind = r.kind === 'reply' ? 'group_reply' : 'group_check';
    changes.push({
      kind,
      target: groupname,
      before: null,
      after: { id: null, attr: r.attr, op: r.op, value: r.value },
    });
  }
  return changes;
}

/**
 * A user's changes (pure): created (active) if new, its memberships (profiles found by name in
 * `profileIds`), then its new rows in the source's order.
 */
function userChanges(
  plan: PlanIndex,
  username: string,
  profileIds: ReadonlyMap<string, number>,
  now: string,
): Change[] {
  const changes: Change[] = [];
  if (plan.newUsers.has(username)) {
    const after = {
      username,
      username_length: [...username].length,
      is_active: true,
      date_joined: now,
      last_update: now,
    };
    changes.push({ kind: 'user', target: username, before: null, after });
  }
  for (const m of plan.memberships.get(username) ?? []) {
    const id = profileIds.get(m.groupname);
    // The profile items before the barrier created every profile a membership names.
    if (id === undefined) throw new Error(`profile ${m.groupname} is missing after its item`);
    changes.push({
      kind: 'profile',
      target: m.groupname,
      before: m.before === null ? null : { id, priority: m.before },
      after: { id, priority: m.priority },
    });
  }
  for (const r of plan.userRows.get(username) ?? []) {
    changes.push({
      kind: r.kind,
      target: r.attr,
      before: null,
      after: { id: null, attr: r.attr, op: r.op, value: r.value },
    });
  }
  return changes;
}

/**
 * The items of a FreeRADIUS import, from a plan without problems (made from `target`): one per
 * groupname (the profile created if new, with its new radgroupreply/radgroupcheck rows, guarded
 * by the profile's version in `target`), then — after a barrier, so they can name the profiles
 * by id — one per username (the user created if new, active; its new memberships and rows).
 * Everything already there is left alone, so a second import is all `unchanged`. A user or
 * profile changed under its item is planned again from the source's rows about it.
 */
export function radiusImportSteps(
  source: FreeradiusTables,
  plan: RadiusImportPlan,
  target: ImportTarget,
  reader: Reader,
  now: string,
): PlanStep[] {
  const groupnames = distinct([
    ...source.radusergroup.map((m) => m.groupname),
    ...source.radgroupcheck.map((r) => r.key),
    ...source.radgroupreply.map((r) => r.key),
  ]);
  const usernames = distinct([
    ...source.radcheck.map((r) => r.key),
    ...source.radreply.map((r) => r.key),
    ...source.radusergroup.map((m) => m.username),
  ]);
  const index = indexPlan(plan);
  let seq = 0;
  const steps: PlanStep[] = groupnames.map((groupname) => {
    const s = seq++;
    return async (again: boolean): Promise<PlannedItem> => {
      let groupPlan = index;
      let stored = target.profiles.get(groupname);
      if (again) {
        // Someone changed this profile since it was read: plan its rows again from what is there.
        const tables = groupTablesOf(source, groupname);
        const fresh = await readImportTarget(reader, tables);
        groupPlan = indexPlan(planRadiusImport(tables, fresh));
        stored = fresh.profiles.get(groupname);
      }
      return {
        result: plannedItem(s, { profile: groupname }, profileChanges(groupPlan, groupname)),
        user: null,
        profile: stored ? { short_name: groupname, version: stored.version } : null,
      };
    };
  });
  steps.push(BARRIER);

  // Read once, after the barrier: the profiles' ids and the existing users.
  let state: { profileIds: Map<string, number>; users: Map<string, StoredUser> } | null = null;
  const read = async () => {
    const profiles = await reader.query<{ id: number; short_name: string }>(
      'SELECT id, short_name FROM profiles',
    );
    const ids: number[] = [];
    for (let i = 0; i < usernames.length; i += CHUNK) {
      const chunk = usernames.slice(i, i + CHUNK);
      const rows = await reader.query<{ obj_id: number }>(
        `SELECT obj_id FROM users WHERE username IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      ids.push(...rows.map((r) => Number(r.obj_id)));
    }
    const users = new Map(
      [...(await loadUsers(reader, ids)).values()].map((u) => [String(u.fields['username']), u]),
    );
    return { profileIds: new Map(profiles.map((p) => [p.short_name, Number(p.id)])), users };
  };
  for (const username of usernames) {
    const s = seq++;
    steps.push(async (again: boolean): Promise<PlannedItem> => {
      state ??= await read();
      let user = state.users.get(username) ?? null;
      let userPlan = index;
      if (again) {
        // Someone changed this user since it was read: plan its rows again from what is there.
        const tables = tablesOf(source, username);
        userPlan = indexPlan(planRadiusImport(tables, await readImportTarget(reader, tables)));
        user = await loadUserByName(reader, username);
      }
      const changes = userChanges(userPlan, username, state.profileIds, now);
      return { result: plannedItem(s, { user_id: user?.id ?? null, username }, changes), user };
    });
  }
  return steps;
}
