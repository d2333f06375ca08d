import { purgeExpiredAttrs } from '../../store/purge-expired-attrs.js';
import { usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';

/** `usrun attrs purge`: deletes expired user attrs (they are already invisible everywhere). */
export async function attrsPurgeCommand(options: { db?: string; json?: boolean }, io: Io): Promise<void> {
  await usingStore({ location: options.db }, async (store) => {
    const deleted = await purgeExpiredAttrs(store, new Date());
    if (options.json) io.out(`${JSON.stringify({ deleted })}\n`);
    else io.out(`${io.color.green('✓')} purged ${deleted} expired attr${deleted === 1 ? '' : 's'}\n`);
  });
}
