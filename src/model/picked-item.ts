/**
 * One item the selection picked, before the script runs: a user (by filter) or a CSV row that
 * matched a user — or a row that already has its verdict (`not_found`, ambiguous → `failed`,
 * filtered out → `skipped`).
 */
export interface PickedItem {
  seq: number;
  userId: number | null;
  row: Record<string, string> | null;
  line: number | null;
  verdict?: { status: 'not_found' | 'failed' | 'skipped'; message: string };
  /** The user's `users` row when the selection already read it (a filtered page): not read twice. */
  userRow?: Record<string, unknown>;
}
