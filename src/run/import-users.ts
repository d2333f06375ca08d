import type { CsvTable } from '../model/csv-table.js';
import { plannedItem, type ItemResult } from '../model/item-result.js';
import { sha256 } from '../journal/run-record.js';
import type { StoreDriver } from '../store/driver.js';
import { planUsersImport, type ImportResult, type UsersImportPlan } from '../store/import-users.js';
import { loadUserByName, loadUsers, type Reader, type StoredUser } from '../store/load-users.js';
import type { PlannedItem } from './commit-items.js';
import { commitPlanned, type CommitPlannedResult } from './commit-planned.js';
import { listSource, type PlanStep } from './list-source.js';
import { planImportRow } from './plan-import-row.js';
import { RunControl } from './run-control.js';

export interface ImportUsersOptions {
  /** Go through every item inside a transaction that is rolled back: no data, no journal. */
  dryRun?: boolean | undefined;
  /** The time written to `last_update` and default `date_joined`; defaults to the current time. */
  now?: Date | undefined;
  /** The file's text, for the journal's sha256 (defaults to none: the table only). */
  text?: string | undefined;
  control?: RunControl | undefined;
  onItem?: ((item: ItemResult) => void) | undefined;
}

export type ImportUsersResult = ImportResult & CommitPlannedResult;

/** One item per CSV row, each planned from the user as it is when its turn comes. */
function importSteps(plan: UsersImportPlan, reader: Reader, now: string): PlanStep[] {
  const preloaded = new Map<number, StoredUser>();
  let loaded = false;
  return plan.rows.map((row, seq) => async (again: boolean): Promise<PlannedItem> => {
    if (!loaded) {
      // The existing users once, in chunks: one read per user would dominate a big import.
      for (const [id, user] of await loadUsers(reader, [...plan.existing.values()])) preloaded.set(id, user);
      loaded = true;
    }
    let user: StoredUser | null;
    if (again) {
      user = await loadUserByName(reader, row.username);
    } else {
      const id = plan.existing.get(row.username);
      user = id === undefined ? null : (preloaded.get(id) ?? null);
    }
    const changes = planImportRow(row, plan.fields, user, now);
    const result = plannedItem(
      seq,
      { user_id: user?.id ?? null, username: row.username, row: row.cells, line: row.line },
      changes,
    );
    return { result, user };
  });
}

/**
 * `users import`: upserts users by `username` from a checked CSV table (`planUsersImport`: a bad
 * file writes nothing), as a journaled run of kind `import` — one item per row, through the one
 * commit path, so `runs show` lists it and `runs undo` takes it back (deleting the users it
 * created, restoring the fields it changed). Importing the same file again changes nothing.
 */
export async function importUsers(
  store: StoreDriver,
  table: CsvTable,
  options: ImportUsersOptions = {},
): Promise<ImportUsersResult> {
  const now = (options.now ?? new Date()).toISOString();
  const plan = await planUsersImport(store, table);
  const counts: ImportResult = { inserted: 0, updated: 0, unchanged: 0 };
  const control = options.control ?? new RunControl();
  const result = await commitPlanned(store, {
    run: {
      kind: 'import',
      scriptPath: table.file,
      scriptText: `usrun users import ${table.file}`,
      selection: {
        csv: table.file,
        ...(options.text !== undefined ? { csv_sha256: sha256(options.text) } : {}),
        delimiter: table.delimiter,
      },
      params: {},
    },
    dryRun: options.dryRun ?? false,
    source: (reader) => listSource(importSteps(plan, reader, now), control),
    control,
    onItem: (item) => {
      if (item.status === 'changed') {
        if (item.changes.some((c) => c.kind === 'user')) counts.inserted += 1;
        else counts.updated += 1;
      } else if (item.status === 'unchanged') counts.unchanged += 1;
      options.onItem?.(item);
    },
  });
  return { ...counts, ...result };
}
