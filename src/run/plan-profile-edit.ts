import type { RadiusRow } from '../model/change.js';
import { plannedItem } from '../model/item-result.js';
import type { Reader } from '../store/load-users.js';
import { groupRowChanges, loadProfile } from '../store/profile-attributes.js';
import type { PlannedItem } from './commit-items.js';
import type { RadiusEdit } from './radius-row-edits.js';

/**
 * The item of `usrun profiles attr add|rm`: the profile's reply or check rows as `reader` shows
 * them now, edited by `edit`, as `group_reply` / `group_check` changes guarded by the profile's
 * version (a write to the profile or its rows after this read makes the commit plan it again).
 */
export async function planProfileEdit(
  reader: Reader,
  shortName: string,
  kind: 'reply' | 'check',
  edit: (label: string, rows: readonly RadiusRow[]) => RadiusEdit,
): Promise<{ planned: PlannedItem; outcome: RadiusEdit }> {
  const own = await loadProfile(reader, shortName);
  const current = (kind === 'reply' ? own?.attributes : own?.check_attributes) ?? [];
  const outcome = edit(kind, current);
  const changes = outcome.updated ? groupRowChanges(kind, shortName, current, outcome.rows) : [];
  const result = plannedItem(0, { profile: shortName }, changes);
  const profile = own ? { short_name: own.short_name, version: own.version } : null;
  return { planned: { result, user: null, profile }, outcome };
}
