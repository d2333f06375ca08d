import { seedDemo } from '../../store/seed-demo.js';
import { resolveLocation, usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';

export interface InitOptions {
  db?: string;
  demo?: number;
  /** Add usrun's tables to a non-empty database that is not usrun's. */
  allowForeign?: boolean;
}

/** `usrun init`: creates or upgrades the schema, optionally with N generated users. */
export async function initCommand(options: InitOptions, io: Io): Promise<void> {
  const location = resolveLocation(options.db);
  await usingStore({ location, create: true, allowForeign: options.allowForeign ?? false }, async (store) => {
    io.out(`${io.color.green('✓')} database ready: ${location}\n`);
    if (options.demo !== undefined) {
      const started = Date.now();
      const seeded = await seedDemo(store, options.demo);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      io.out(
        `${io.color.green('✓')} added ${seeded.users} demo users and ${seeded.profiles} profiles in ${secs}s\n`,
      );
    }
  });
}
