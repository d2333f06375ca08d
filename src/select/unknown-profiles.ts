import type { StoreDriver } from '../store/driver.js';
import type { FilterNode } from './filter-ast.js';
import { filterProfileNames } from './filter-profile-names.js';

/** A warning for each profile the (parsed) filter names by short_name that does not exist. */
export async function unknownProfiles(store: StoreDriver, filter: FilterNode): Promise<string[]> {
  const names = filterProfileNames(filter);
  if (names.length === 0) return [];
  const known = (
    await store.db.selectFrom('profiles').select('short_name').orderBy('short_name').execute()
  ).map((p) => p.short_name);
  // Filters compare short_name case-insensitively (SCIM): "GOLD" names the profile gold.
  const folded = new Set(known.map((k) => k.toLowerCase()));
  return names
    .filter((n) => !folded.has(n.toLowerCase()))
    .map(
      (n) =>
        `the filter names profile "${n}", which does not exist (profiles: ${known.join(', ') || 'none'}); no user can match it`,
    );
}
