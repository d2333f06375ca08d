import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { FilterSyntaxError, parseFilter } from '../../src/select/parse-filter.js';
import { listFilters, removeFilter, resolveFilter, saveFilter } from '../../src/select/saved-filters.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { usingStore } from '../../src/store/using-store.js';
import { DIALECTS, dropTestDbs, freshStore } from '../helpers/dialects.js';

const dir = mkdtempSync(join(tmpdir(), 'usrun-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterAll(dropTestDbs);

describe.each(DIALECTS)('%s', (dialect) => {
  async function withStore<T>(fn: (store: StoreDriver, location: string) => Promise<T>): Promise<T> {
    const location = await freshStore(dialect);
    return usingStore({ location, create: true }, (store) => fn(store, location));
  }

  const T1 = new Date('2026-01-31T12:00:00.000Z');
  const T2 = new Date('2026-02-01T08:30:00.000Z');

  describe('saved filters', () => {
    it('saves, lists by name and resolves @name, across reopening the file', async () => {
      const location = await withStore(async (store, location) => {
        expect(await saveFilter(store.db, 'stale', 'last_login lt "-90d"', T1)).toEqual({
          name: 'stale',
          expression: 'last_login lt "-90d"',
          created_at: '2026-01-31T12:00:00.000Z',
          replaced: false,
        });
        await saveFilter(store.db, 'Gold.users-2', 'klass eq "gold"', T2);
        return location;
      });

      await usingStore({ location }, async (reopened) => {
        expect(await listFilters(reopened.db)).toEqual([
          { name: 'Gold.users-2', expression: 'klass eq "gold"', created_at: T2.toISOString() },
          { name: 'stale', expression: 'last_login lt "-90d"', created_at: T1.toISOString() },
        ]);
        expect(await resolveFilter(reopened.db, '@stale')).toBe('last_login lt "-90d"');
        expect(await resolveFilter(reopened.db, '  @Gold.users-2 ')).toBe('klass eq "gold"');
        expect(parseFilter(await resolveFilter(reopened.db, '@stale'))).toEqual(
          parseFilter('last_login lt "-90d"'),
        );
      });
    });

    it('overwrites a filter of the same name only when asked to', async () => {
      await withStore(async (store) => {
        await saveFilter(store.db, 'mine', 'email pr', T1);
        await expect(saveFilter(store.db, 'mine', 'email co "x"', T2)).rejects.toThrow(
          'a filter @mine is already saved (email pr); replace it with --force, or pick another name',
        );
        const again = await saveFilter(store.db, 'mine', 'email co "@example.com"', T2, { replace: true });
        expect(again.replaced).toBe(true);
        expect(await listFilters(store.db)).toEqual([
          { name: 'mine', expression: 'email co "@example.com"', created_at: T2.toISOString() },
        ]);
      });
    });

    it('refuses an expression that does not parse, and keeps the old one', async () => {
      await withStore(async (store) => {
        await saveFilter(store.db, 'mine', 'email pr', T1);
        const error = await saveFilter(store.db, 'mine', 'emial eq "x"').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(FilterSyntaxError);
        expect((error as FilterSyntaxError).position).toBe(0);
        await expect(saveFilter(store.db, 'other', '@mine')).rejects.toThrow(FilterSyntaxError);
        expect(await listFilters(store.db)).toEqual([
          { name: 'mine', expression: 'email pr', created_at: T1.toISOString() },
        ]);
      });
    });

    it.each(['', 'a b', 'x'.repeat(65), '@x', 'a/b', "a'--", 'ü'])('refuses the name %j', async (name) => {
      await withStore(async (store) => {
        await expect(saveFilter(store.db, name, 'email pr')).rejects.toThrow(/bad filter name/);
        expect(await listFilters(store.db)).toEqual([]);
      });
    });

    it('accepts a 64-character name', async () => {
      await withStore(async (store) => {
        await saveFilter(store.db, 'n'.repeat(64), 'email pr', T1);
        expect(await resolveFilter(store.db, `@${'n'.repeat(64)}`)).toBe('email pr');
      });
    });

    it('removes a filter, and says so when there is none of that name', async () => {
      await withStore(async (store) => {
        await saveFilter(store.db, 'a', 'email pr', T1);
        await saveFilter(store.db, 'b', 'klass pr', T1);
        await removeFilter(store.db, 'a');
        expect((await listFilters(store.db)).map((f) => f.name)).toEqual(['b']);
        const error = await removeFilter(store.db, 'a').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UsageError);
        expect((error as UsageError).exitCode).toBe(2);
        expect((error as Error).message).toBe('unknown saved filter "@a": see `usrun filters list`');
      });
    });

    it('returns text without @ unchanged, and names an unknown @name', async () => {
      await withStore(async (store) => {
        expect(await resolveFilter(store.db, 'email eq "@x"')).toBe('email eq "@x"');
        expect(await resolveFilter(store.db, ' email pr')).toBe(' email pr');
        await expect(resolveFilter(store.db, '@nope')).rejects.toThrow('unknown saved filter "@nope"');
        await expect(resolveFilter(store.db, '@nope')).rejects.toBeInstanceOf(UsageError);
        await expect(resolveFilter(store.db, '@')).rejects.toThrow(/bad filter name ""/);
        await expect(resolveFilter(store.db, "@x' OR 1=1 --")).rejects.toThrow(/bad filter name/);
      });
    });
  });
});
