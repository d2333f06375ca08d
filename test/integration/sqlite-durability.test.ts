/**
 * SQLite: a commit is on disk when it returns (WAL, `synchronous = FULL`), so a power cut loses
 * no user the journal reports committed; group commit pays that sync once per group.
 */
import { afterAll, expect, it } from 'vitest';
import { withDb } from '../helpers/db.js';
import { dropTestDbs, testStore } from '../helpers/dialects.js';

afterAll(dropTestDbs);

it('opens the file in WAL mode with every commit synced', async () => {
  const db = await testStore('sqlite', { demo: 1 });
  await withDb(db, async (store) => {
    expect(await store.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    // 2 = FULL (1 = NORMAL: the last commits could be lost to a power cut).
    expect(await store.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
  });
});
