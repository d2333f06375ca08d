import type { Change } from '../model/change.js';

/** `run_changes` rows as stored: before/after are JSON text. */
export interface StoredChangeRow {
  seq: number;
  kind: string;
  target: string;
  before: string | null;
  after: string | null;
}

/** Decodes `run_changes` rows (ordered by seq, n) into each item's list of changes. */
export function changesBySeq(rows: readonly StoredChangeRow[]): Map<number, Change[]> {
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
