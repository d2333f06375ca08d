import type { Change } from './change.js';

/** The status of one user or CSV row in a run (SPEC §6). */
export type ItemStatus = 'changed' | 'unchanged' | 'skipped' | 'failed' | 'not_found';

export const ITEM_STATUSES: readonly ItemStatus[] = [
  'changed',
  'unchanged',
  'skipped',
  'failed',
  'not_found',
];

/** A script call that had no effect (`[false, message]`), e.g. `no profile with short_name gld`. */
export interface ItemNote {
  message: string;
  /** `script.js:LINE:COL` of the call, when known. */
  location?: string;
}

/** What happened to one user or CSV row: the run yields one per item, it never throws for one. */
export interface ItemResult {
  /** Position in the run: CSV row order, or selection order. */
  seq: number;
  user_id: number | null;
  username: string | null;
  /** The profile (short_name) a profile-level item changes (`profiles attr`, an import's groups). */
  profile?: string | null;
  /** The CSV row, or null when users were picked by filter. */
  row: Record<string, string> | null;
  /** The CSV file line of the row, when there is one. */
  line: number | null;
  status: ItemStatus;
  changes: Change[];
  logs: string[];
  error: { message: string; location?: string } | null;
  /** Calls of the script that had no effect; absent or empty when there were none. */
  notes?: ItemNote[];
}

/**
 * An item planned by the host itself (an import, a profile edit): `changed` when it has changes,
 * else `unchanged`, with no logs and no error. `fields` names whom it is about.
 */
export function plannedItem(seq: number, fields: Partial<ItemResult>, changes: Change[]): ItemResult {
  return {
    seq,
    user_id: null,
    username: null,
    row: null,
    line: null,
    status: changes.length > 0 ? 'changed' : 'unchanged',
    changes,
    logs: [],
    error: null,
    ...fields,
  };
}

export type RunCounts = Record<ItemStatus, number> & { selected: number };

export function emptyCounts(): RunCounts {
  return { selected: 0, changed: 0, unchanged: 0, skipped: 0, failed: 0, not_found: 0 };
}
