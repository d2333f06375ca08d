import type { FreeradiusAttributeRow, FreeradiusTables } from '../model/freeradius-tables.js';
import { UsageError } from '../errors.js';
import type { StoreDriver } from './driver.js';

type Raw = Record<string, unknown>;

const TABLES = ['radcheck', 'radreply', 'radusergroup', 'radgroupcheck', 'radgroupreply'];

const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

/**
 * Reads FreeRADIUS's rlm_sql tables from `source` (any dialect): radcheck, radreply,
 * radusergroup, radgroupcheck, radgroupreply. Column names are matched case-insensitively
 * (MySQL schemas spell `Value`); radusergroup is read without `id`, which older MySQL schemas
 * lack. A missing table reads as empty and is listed in `missing`; at least radcheck must exist.
 */
export async function readFreeradiusTables(source: StoreDriver): Promise<FreeradiusTables> {
  const present = new Set(
    (await source.db.introspection.getTables({ withInternalKyselyTables: false })).map((t) =>
      t.name.toLowerCase(),
    ),
  );
  const missing = TABLES.filter((t) => !present.has(t));
  if (missing.includes('radcheck')) {
    throw new UsageError(`${source.location} has no radcheck table: not a FreeRADIUS rlm_sql database`);
  }
  const rows = async (table: string, order: string): Promise<Raw[] | null> => {
    if (!present.has(table)) return null;
    const raw = await source.query<Raw>(`SELECT * FROM ${table} ORDER BY ${order}`);
    return raw.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v])));
  };
  const attributes = async (table: string, key: 'username' | 'groupname') =>
    ((await rows(table, 'id')) ?? []).map((r): FreeradiusAttributeRow => ({
      key: text(r[key]),
      attr: text(r['attribute']),
      op: text(r['op']),
      value: text(r['value']),
    }));
  const radcheck = await attributes('radcheck', 'username');
  const radreply = await attributes('radreply', 'username');
  const radusergroup = ((await rows('radusergroup', 'username, priority, groupname')) ?? []).map((r) => ({
    username: text(r['username']),
    groupname: text(r['groupname']),
    priority: Number(r['priority'] ?? 1),
  }));
  const radgroupcheck = await attributes('radgroupcheck', 'groupname');
  const radgroupreply = await attributes('radgroupreply', 'groupname');
  return { radcheck, radreply, radusergroup, radgroupcheck, radgroupreply, missing };
}
