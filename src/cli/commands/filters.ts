import { listFilters, removeFilter, saveFilter } from '../../select/saved-filters.js';
import { usingStore } from '../../store/using-store.js';
import { formatTable } from '../format-table.js';
import type { Io } from '../io.js';

/** `usrun filters save NAME EXPR`: checks the expression, then stores it under NAME. */
export async function filtersSaveCommand(
  name: string,
  expression: string,
  options: { db?: string; force?: boolean },
  io: Io,
): Promise<void> {
  await usingStore({ location: options.db }, async (store) => {
    const saved = await saveFilter(store.db, name, expression, new Date(), {
      replace: options.force ?? false,
    });
    io.out(`${io.color.green('✓')} filter @${name} ${saved.replaced ? 'replaced' : 'saved'}\n`);
  });
}

/** `usrun filters list`. */
export async function filtersListCommand(options: { db?: string; json?: boolean }, io: Io): Promise<void> {
  await usingStore({ location: options.db, readOnly: true }, async (store) => {
    const filters = await listFilters(store.db);
    if (options.json) {
      for (const f of filters) io.out(`${JSON.stringify(f)}\n`);
      return;
    }
    if (filters.length === 0) {
      io.err('no saved filters (save one with `usrun filters save NAME EXPR`)\n');
      return;
    }
    io.out(
      formatTable(
        ['NAME', 'EXPRESSION'],
        filters.map((f) => [`@${f.name}`, f.expression]),
        io.color,
      ),
    );
  });
}

/** `usrun filters rm NAME`. */
export async function filtersRmCommand(name: string, options: { db?: string }, io: Io): Promise<void> {
  await usingStore({ location: options.db }, async (store) => {
    await removeFilter(store.db, name.replace(/^@/, ''));
    io.out(`${io.color.green('✓')} filter @${name.replace(/^@/, '')} removed\n`);
  });
}
