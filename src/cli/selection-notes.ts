import type { Picked } from '../select/pick-items.js';

/** Shown repeated keys, then "… and N more". */
const MAX_REPEATED = 5;
const MAX_LINES = 10;

/** 1000 → "1,000", as counts read in usrun's messages. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * What an admin should know about a selection before it runs: how much `--limit` left out
 * (`--limit 3: 3 of 1,000 users`) and users named by several CSV rows (once each, with the lines).
 */
export function selectionNotes(
  picked: Picked,
  options: { limit?: number | undefined; csv: boolean },
): string[] {
  const notes: string[] = [];
  const unit = options.csv ? 'rows' : 'users';
  if (options.limit !== undefined && picked.available > picked.total) {
    notes.push(
      `--limit ${options.limit}: ${formatCount(picked.total)} of ${formatCount(picked.available)} ${unit}`,
    );
  }
  for (const { key, lines } of picked.repeated.slice(0, MAX_REPEATED)) {
    const shown = lines.slice(0, MAX_LINES).join(', ') + (lines.length > MAX_LINES ? ', …' : '');
    notes.push(
      `${key} is in ${lines.length} rows (lines ${shown}): the script runs for that user once per row`,
    );
  }
  const more = picked.repeated.length - MAX_REPEATED;
  if (more > 0) notes.push(`… and ${formatCount(more)} more users named by several rows`);
  return notes;
}
