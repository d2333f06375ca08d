import { beforeAll } from 'vitest';
import { restoreDb, snapshotDb, type Snapshot } from './db.js';
import { testStore, type Dialect } from './dialects.js';

/**
 * A test file's database on one dialect: made and filled once by `setup` (in `beforeAll`); the
 * function returned puts it back to that state and returns its location, for each test that
 * wants a clean one (what copying a SQLite file did).
 */
export function fixtureDb(dialect: Dialect, setup: (db: string) => Promise<void>): () => Promise<string> {
  let template = '';
  let snapshot: Snapshot | undefined;
  beforeAll(async () => {
    template = await testStore(dialect);
    await setup(template);
  });
  return async () => {
    snapshot ??= await snapshotDb(template);
    await restoreDb(template, snapshot);
    return template;
  };
}
