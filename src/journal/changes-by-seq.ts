import type { Change } from '../model/change.js';
import type { StoreDriver } from '../store/driver.js';

/** `run_changes` rows as stored: before/after are JSON text. */
interface StoredChangeRow {
  seq: number;
  kind: string;
  target: string;
  before: string | null;
  after: string | null;
}

/** Decodes `run_changes` rows (ordered by seq, n) into each item's list of changes. */
function changesBySeq(rows: readonly StoredChangeRow[]): Map<number, Change[]> {
  const bySeq = new Map<number, Change[]>();
  for (const r of rows) {
    const list = bySeq.get(r.seq) ?? [];
    list.push({
      kind: r.kind,
      target: r.target,
      before: r.before === null ? null : JSON.parse(r.before),
      after: r.after === null ? null : JSON.parse(r.after),
    } as Change);
    bySeq.set(r.seq, list);
  }
  return bySeq;
}

/**
 * The changes of a run's items whose seq lies in `[first, last]`, by seq: a page of items reads
 * only its own page of changes.
 */
export async function readChangesBySeq(
  store: StoreDriver,
  runId: number,
  first: number,
  last: number,
): Promise<Map<number, Change[]>> {
  const rows = await store.db
    .selectFrom('run_changes')
    .select(['seq', 'kind', 'target', 'before', 'after'])
    .where('run_id', '=', runId)
    .where('seq', '>=', first)
    .where('seq', '<=', last)
    .orderBy('seq')
    .orderBy('n')
    .execute();
  return changesBySeq(rows);
}
