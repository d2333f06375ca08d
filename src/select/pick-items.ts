import { UsageError } from '../errors.js';
import type { PickedItem } from '../model/picked-item.js';
import type { SeqRange } from '../model/seq-range.js';
import { withArticle } from '../model/with-article.js';
import type { StoreDriver } from '../store/driver.js';
import { buildUserWhere } from './build-user-where.js';
import { matchCsvRowsInChunks, pickKeyColumn, repeatedKeys, type RepeatedKey } from './match-csv-rows.js';
import { readCsv } from './read-csv.js';
import { unknownProfiles } from './unknown-profiles.js';
import { countUsers, selectUserIds, selectUserPages, type UserWhere } from './select-users.js';

/** How the admin picked users (SPEC §3); stored with the run so it can be resumed. */
export interface Selection {
  filter?: string | undefined;
  csv?: string | undefined;
  all?: boolean | undefined;
  match?: string | undefined;
  delimiter?: string | undefined;
  limit?: number | undefined;
  /** The users (and CSV rows) of the failed items of this run (`--failed-of RUN_ID`). */
  failed_of?: number | undefined;
}

/** The picked items, page by page, and how many there are. */
export interface Picked {
  pages: AsyncIterable<PickedItem[]>;
  total: number;
  /** How many users or rows there were before `--limit` cut them to `total`. */
  available: number;
  /** CSV rows naming the same user (by the same key), for a note before the run. */
  repeated: RepeatedKey[];
  /** What the admin should know about the selection before it runs (a profile that does not exist). */
  warnings: string[];
}

/** Exactly one of filter / csv / all / failed_of (csv with filter counts as one). */
export function checkSelection(selection: Selection): void {
  const given = [selection.filter !== undefined || selection.csv !== undefined, selection.all === true];
  if (selection.failed_of !== undefined) {
    if (given.some(Boolean) || selection.limit !== undefined)
      throw new UsageError(
        '--failed-of picks the users itself: leave out --filter, --csv, --all and --limit',
      );
    return;
  }
  if (selection.all && (selection.filter !== undefined || selection.csv !== undefined)) {
    throw new UsageError('--all cannot be combined with --filter or --csv');
  }
  if (!given.some(Boolean)) throw new UsageError('pick users with --filter EXPR, --csv FILE or --all');
  if (selection.csv === undefined && (selection.match !== undefined || selection.delimiter !== undefined)) {
    throw new UsageError('--match and --delimiter go with --csv');
  }
}

/**
 * Resolves a selection into pages of items. Everything that can be wrong with it (filter syntax,
 * a malformed CSV, an unknown key column) fails here, before anything runs or is written.
 * `skip(seq)` leaves out items already done (resume).
 */
export async function pickItems(
  store: StoreDriver,
  selection: Selection,
  options: { skip?: (item: PickedItem) => boolean } = {},
): Promise<Picked> {
  checkSelection(selection);
  const skip = options.skip ?? (() => false);
  if (selection.failed_of !== undefined) {
    const items = (await failedItems(store, selection.failed_of)).filter((i) => !skip(i));
    return {
      total: items.length,
      available: items.length,
      repeated: [],
      pages: pagesOf(items),
      warnings: [],
    };
  }
  const filter = await buildUserWhere(store, selection.filter);
  const where = filter?.where;
  const warnings = filter === undefined ? [] : await unknownProfiles(store, filter.ast);
  if (selection.csv === undefined) {
    const available = await countUsers(store, where);
    const total = selection.limit === undefined ? available : Math.min(available, selection.limit);
    return {
      total,
      available,
      repeated: [],
      warnings,
      pages: userItems(store, where, selection.limit, skip),
    };
  }
  const { table, key, rows } = csvRows(selection, selection.csv);
  return {
    total: rows.length,
    available: table.rows.length,
    repeated: repeatedKeys(store, key, rows),
    warnings,
    pages: csvItems(store, key, rows, where, skip, 0),
  };
}

/** A selection's CSV rows (cut to --limit), with the table and its key column. */
function csvRows(selection: Selection, csv: string) {
  const table = readCsv(csv, selection.delimiter === undefined ? {} : { delimiter: selection.delimiter });
  const key = pickKeyColumn(table.columns, selection.match, csv);
  const rows = selection.limit === undefined ? table.rows : table.rows.slice(0, selection.limit);
  return { table, key, rows };
}

/** The pages of one chunk of a shared run: the items whose seq lies in `range`. */
export type ChunkPages = (
  range: SeqRange,
  skip: (item: PickedItem) => boolean,
) => AsyncIterable<PickedItem[]>;

/**
 * Prepares a shared run's selection once for all the chunks a worker claims: the filter compiled,
 * the CSV file read, the failed items of a retry listed — nothing counted or warned about again
 * (the run did that when it started). Chunks are by obj_id for a filter, by row for a CSV file,
 * by the retried items' seqs for `--failed-of`.
 */
export async function chunkPages(store: StoreDriver, selection: Selection): Promise<ChunkPages> {
  checkSelection(selection);
  const inRange = (i: PickedItem, range: SeqRange) => i.seq >= range.first && i.seq <= range.last;
  if (selection.failed_of !== undefined) {
    const items = await failedItems(store, selection.failed_of);
    return (range, skip) => pagesOf(items.filter((i) => inRange(i, range) && !skip(i)));
  }
  const where = (await buildUserWhere(store, selection.filter))?.where;
  // A chunk's range already stops where the run's --limit does.
  if (selection.csv === undefined) return (range, skip) => userItems(store, where, undefined, skip, range);
  const { key, rows } = csvRows(selection, selection.csv);
  return (range, skip) =>
    csvItems(store, key, rows.slice(range.first, range.last + 1), where, skip, range.first);
}

/**
 * The failed items of a run, as items of a new run: the same users, the same CSV rows and seqs
 * (so its resume skips what is done). A failed row that matched no single user has no user to
 * run again: it is not picked.
 */
async function failedItems(store: StoreDriver, runId: number): Promise<PickedItem[]> {
  const run = await store.db
    .selectFrom('runs')
    .select(['id', 'kind'])
    .where('id', '=', runId)
    .executeTakeFirst();
  if (!run) throw new UsageError(`no run with id ${runId} (see \`usrun runs list\`)`);
  if (run.kind !== 'run')
    throw new UsageError(
      `run ${runId} is ${withArticle(run.kind)} run, not a script run: --failed-of takes a script run`,
    );
  const rows = await store.db
    .selectFrom('run_items')
    .select(['seq', 'user_id', 'row_json'])
    .where('run_id', '=', runId)
    .where('status', '=', 'failed')
    .where('user_id', 'is not', null)
    .orderBy('seq')
    .execute();
  return rows.map((r) => {
    const row =
      r.row_json === null
        ? null
        : (JSON.parse(r.row_json) as { line: number | null; values: Record<string, string> });
    return { seq: r.seq, userId: r.user_id, row: row?.values ?? null, line: row?.line ?? null };
  });
}

async function* pagesOf(items: PickedItem[], size = 500): AsyncGenerator<PickedItem[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * Cuts a selection into chunks of about `size` items, as seq ranges: by obj_id for a filter (each
 * user once), by row for a CSV file. A CSV file that names a user on more than one row is one
 * chunk: its rows for that user must run in file order, one after another, in one worker.
 */
export async function planChunks(
  store: StoreDriver,
  selection: Selection,
  size: number,
): Promise<SeqRange[]> {
  const ranges: SeqRange[] = [];
  if (selection.failed_of !== undefined) {
    // The failed items keep their run's seqs: chunks are runs of them, a user named on several
    // of them (a CSV run) keeps them all in one chunk.
    const items = await failedItems(store, selection.failed_of);
    const users = new Set(items.map((i) => i.userId));
    if (items.length === 0) return [];
    const seqs = items.map((i) => i.seq);
    const step = users.size < items.length ? items.length : size;
    for (let i = 0; i < seqs.length; i += step) {
      ranges.push({ first: seqs[i] as number, last: seqs[Math.min(i + step, seqs.length) - 1] as number });
    }
    return ranges;
  }
  if (selection.csv === undefined) {
    checkSelection(selection);
    const where = (await buildUserWhere(store, selection.filter))?.where;
    let current: number[] = [];
    for await (const ids of selectUserIds(store, where, selection.limit)) {
      for (const id of ids) {
        current.push(id);
        if (current.length === size) {
          ranges.push({ first: current[0] as number, last: id });
          current = [];
        }
      }
    }
    if (current.length > 0)
      ranges.push({ first: current[0] as number, last: current[current.length - 1] as number });
    return ranges;
  }
  const picked = await pickItems(store, selection);
  const users = new Set<number>();
  let repeated = false;
  for await (const page of picked.pages) {
    for (const item of page) {
      if (item.userId === null || item.verdict) continue;
      if (users.has(item.userId)) repeated = true;
      users.add(item.userId);
    }
  }
  if (picked.total === 0) return [];
  if (repeated) return [{ first: 0, last: picked.total - 1 }];
  for (let first = 0; first < picked.total; first += size) {
    ranges.push({ first, last: Math.min(first + size, picked.total) - 1 });
  }
  return ranges;
}

async function* userItems(
  store: StoreDriver,
  where: UserWhere | undefined,
  limit: number | undefined,
  skip: (item: PickedItem) => boolean,
  range?: SeqRange,
): AsyncGenerator<PickedItem[]> {
  const bounds = range ? { afterId: range.first - 1, untilId: range.last } : {};
  for await (const page of selectUserPages(store, { where, limit, ...bounds })) {
    // A user appears once in a filtered run, so its obj_id is a seq that stays stable on resume.
    const items = page.map((u) => ({ seq: u.obj_id, userId: u.obj_id, row: null, line: null, userRow: u }));
    yield items.filter((i) => !skip(i));
  }
}

async function* csvItems(
  store: StoreDriver,
  key: string,
  rows: Parameters<typeof matchCsvRowsInChunks>[2],
  where: UserWhere | undefined,
  skip: (item: PickedItem) => boolean,
  firstSeq: number,
): AsyncGenerator<PickedItem[]> {
  let seq = firstSeq;
  for await (const chunk of matchCsvRowsInChunks(store, key, rows)) {
    const items: PickedItem[] = chunk.map((m) => {
      const base = { seq: seq++, row: m.values, line: m.line };
      if (m.status === 'matched') return { ...base, userId: m.userId };
      if (m.status === 'not_found')
        return { ...base, userId: null, verdict: { status: 'not_found', message: m.reason } };
      return { ...base, userId: null, verdict: { status: 'failed', message: m.reason } };
    });
    const matched = items.filter((i) => i.userId !== null && !i.verdict).map((i) => i.userId as number);
    if (where && matched.length > 0) {
      const passing = new Set(
        (
          await store.db
            .selectFrom('users')
            .select('obj_id')
            .where('obj_id', 'in', matched)
            .where(where)
            .execute()
        ).map((r) => r.obj_id),
      );
      for (const item of items) {
        if (item.userId !== null && !item.verdict && !passing.has(item.userId)) {
          item.verdict = { status: 'skipped', message: 'user does not match the filter' };
        }
      }
    }
    yield items.filter((i) => !skip(i));
  }
}
