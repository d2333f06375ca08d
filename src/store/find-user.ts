import { UsageError } from '../errors.js';
import type { StoreDriver } from './driver.js';

/** The user a key named, and how: `users show KEY` says which field matched. */
export interface FoundUser {
  readonly id: number;
  /** `username`, `obj_id`, or the fields matched case-insensitively (`email`, `username (any case)` …). */
  readonly matchedBy: string;
}

// Looked up case-insensitively, in this order of mention. Names from usrun's own catalog.
const TEXT_KEYS = ['username', 'email', 'external_id'] as const;

/**
 * Finds one user by a key an admin types: its exact username, its obj_id, or, case-insensitively,
 * its username, email or external_id. A key that fits several users is a `UsageError` listing
 * them (obj_id, username, the field that matched); so is one that fits none.
 */
export async function findUser(store: StoreDriver, key: string): Promise<FoundUser> {
  const exact = await store.query<{ obj_id: number }>('SELECT obj_id FROM users WHERE username = ?', [key]);
  if (exact[0]) return { id: exact[0].obj_id, matchedBy: 'username' };
  if (/^\d+$/.test(key) && Number.isSafeInteger(Number(key))) {
    const byId = await store.query<{ obj_id: number }>('SELECT obj_id FROM users WHERE obj_id = ?', [
      Number(key),
    ]);
    if (byId[0]) return { id: byId[0].obj_id, matchedBy: 'obj_id' };
  }
  const { capabilities } = store;
  const folded = capabilities.foldText(key.trim());
  const where = TEXT_KEYS.map((c) => `${capabilities.lowerColumn('users', c)} = ?`).join(' OR ');
  const rows = await store.query<Record<(typeof TEXT_KEYS)[number], string | null> & { obj_id: number }>(
    `SELECT obj_id, username, email, external_id FROM users WHERE ${where} ORDER BY obj_id LIMIT 11`,
    TEXT_KEYS.map(() => folded),
  );
  const matches = rows.map((row) => ({
    id: row.obj_id,
    username: row.username,
    fields: TEXT_KEYS.filter((c) => row[c] !== null && capabilities.foldText(row[c]) === folded).map((c) =>
      c === 'username' ? 'username (any case)' : c,
    ),
  }));
  const [only] = matches;
  if (only && matches.length === 1) return { id: only.id, matchedBy: only.fields.join(', ') };
  if (!only) {
    throw new UsageError(`no user with obj_id, username, email or external_id ${JSON.stringify(key)}`);
  }
  const shown = matches
    .slice(0, 10)
    .map((m) => `  #${m.id} ${m.username} (by ${m.fields.join(', ')})`)
    .join('\n');
  throw new UsageError(
    `${JSON.stringify(key)} fits ${matches.length > 10 ? 'more than 10' : matches.length} users; give the obj_id or the exact username:\n${shown}`,
  );
}
