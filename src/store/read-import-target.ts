import type { FreeradiusTables } from '../model/freeradius-tables.js';
import type { ImportTarget } from '../model/radius-import-plan.js';
import { loadUsers, type Reader } from './load-users.js';
import { loadProfileAttributes } from './profile-attributes.js';

/** The users (with rows and memberships) and profiles (with rows) an import of `source` touches. */
export async function readImportTarget(store: Reader, source: FreeradiusTables): Promise<ImportTarget> {
  const names = new Set([
    ...source.radcheck.map((r) => r.key),
    ...source.radreply.map((r) => r.key),
    ...source.radusergroup.map((m) => m.username),
  ]);
  const ids = (await store.query<{ obj_id: number; username: string }>('SELECT obj_id, username FROM users'))
    .filter((u) => names.has(u.username))
    .map((u) => Number(u.obj_id));
  const users: ImportTarget['users'] = new Map(
    [...(await loadUsers(store, ids)).values()].map((u) => [
      String(u.fields['username']),
      {
        attributes: u.attributes,
        check_attributes: u.check_attributes,
        profiles: new Map(u.profiles.map((p) => [p.short_name, p.priority])),
      },
    ]),
  );
  const rows = await loadProfileAttributes(store);
  const profiles: ImportTarget['profiles'] = new Map(
    (
      await store.query<{ id: number; short_name: string; version: number }>(
        'SELECT id, short_name, version FROM profiles',
      )
    ).map((p) => [
      p.short_name,
      {
        version: Number(p.version),
        attributes: rows.get(Number(p.id))?.attributes ?? [],
        check_attributes: rows.get(Number(p.id))?.check_attributes ?? [],
      },
    ]),
  );
  return { users, profiles };
}
