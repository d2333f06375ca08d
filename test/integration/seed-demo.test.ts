import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { seedDemo } from '../../src/store/seed-demo.js';
import { usingStore } from '../../src/store/using-store.js';

const dir = mkdtempSync(join(tmpdir(), 'usrun-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function withStore<T>(fn: (store: StoreDriver) => Promise<T>): Promise<T> {
  return usingStore({ location: join(dir, `db${++n}.sqlite`), create: true }, fn);
}

type Row = Record<string, string | number | null>;

const TABLES: Record<string, string> = {
  users: 'SELECT * FROM users ORDER BY obj_id',
  profiles: 'SELECT * FROM profiles ORDER BY id',
  user_profiles: 'SELECT * FROM user_profiles ORDER BY user_id, profile_id',
  reply_attributes: 'SELECT * FROM reply_attributes ORDER BY id',
  check_attributes: 'SELECT * FROM check_attributes ORDER BY id',
  user_attrs: 'SELECT * FROM user_attrs ORDER BY user_id, name',
};
const TIME_COLUMNS = new Set([
  'date_joined',
  'first_login',
  'last_login',
  'expiration',
  'last_update',
  'expires_at',
  'created_at',
  'updated_at',
]);

async function dump(store: StoreDriver): Promise<Record<string, Row[]>> {
  const out: Record<string, Row[]> = {};
  for (const [table, sql] of Object.entries(TABLES)) out[table] = await store.query<Row>(sql);
  return out;
}

const now = new Date('2026-03-15T09:30:00.000Z');
const DAY = 86_400_000;
const ms = (iso: string | number | null | undefined) => Date.parse(String(iso));

describe('seedDemo', () => {
  it('is deterministic for a count and now; a later now only shifts the timestamps', async () => {
    const a = await withStore(async (store) => {
      expect(await seedDemo(store, 300, { now })).toEqual({ users: 300, profiles: 6 });
      return dump(store);
    });
    const b = await withStore(async (store) => {
      await seedDemo(store, 300, { now });
      return dump(store);
    });
    expect(b).toEqual(a);

    const shift = 3 * DAY + 17_000;
    const later = await withStore(async (store) => {
      await seedDemo(store, 300, { now: new Date(now.getTime() + shift) });
      return dump(store);
    });
    let compared = 0;
    for (const table of Object.keys(TABLES)) {
      const rowsA = a[table] ?? [];
      const rowsL = later[table] ?? [];
      expect(rowsL).toHaveLength(rowsA.length);
      rowsA.forEach((row, i) => {
        for (const [column, value] of Object.entries(row)) {
          const other = rowsL[i]?.[column];
          if (TIME_COLUMNS.has(column) && value !== null) {
            expect(ms(other ?? null) - ms(value)).toBe(shift);
            compared++;
          } else expect(other).toEqual(value);
        }
      });
    }
    expect(compared).toBeGreaterThan(1000);

    const otherCount = await withStore(async (store) => {
      await seedDemo(store, 301, { now });
      return dump(store);
    });
    expect(otherCount.users?.slice(0, 300)).not.toEqual(a.users);
  });

  it('generates users the way the demo and filters expect', async () => {
    await withStore(async (store) => {
      await seedDemo(store, 2000, { now });
      const {
        users = [],
        profiles = [],
        user_profiles = [],
        reply_attributes = [],
        check_attributes = [],
        user_attrs = [],
      } = await dump(store);
      const share = (pred: (u: Row) => boolean) => users.filter(pred).length / users.length;
      const nowMs = now.getTime();

      expect(users).toHaveLength(2000);
      const usernames = users.map((u) => String(u.username));
      expect(new Set(usernames).size).toBe(2000);
      for (const u of users) {
        expect(u.username).toMatch(/^[a-z]+\.[a-z]+\d+$/);
        expect(u.username_length).toBe(String(u.username).length);
        for (const column of TIME_COLUMNS) {
          const value = u[column];
          if (value !== undefined && value !== null)
            expect(new Date(String(value)).toISOString()).toBe(value);
        }
        expect(ms(u.date_joined)).toBeGreaterThanOrEqual(nowMs - 731 * DAY);
        expect(ms(u.date_joined)).toBeLessThanOrEqual(nowMs);
        expect(u.first_login === null).toBe(u.last_login === null);
        if (u.first_login !== null) {
          expect(ms(u.first_login)).toBeGreaterThanOrEqual(ms(u.date_joined));
          expect(ms(u.last_login)).toBeGreaterThanOrEqual(ms(u.first_login));
          expect(ms(u.last_login)).toBeLessThanOrEqual(nowMs);
        }
      }
      expect(new Set(users.map((u) => u.first_name))).toContain('José');
      expect(users.some((u) => /[^\p{ASCII}]/u.test(String(u.first_name)))).toBe(true);
      expect(new Set(users.map((u) => u.first_name)).size).toBeGreaterThan(30);
      expect(new Set(users.map((u) => u.last_name)).size).toBeGreaterThan(30);

      expect(share((u) => u.is_active === 1)).toBeGreaterThan(0.8);
      expect(share((u) => u.is_active === 1)).toBeLessThan(0.9);
      expect(share((u) => u.last_login === null)).toBeGreaterThan(0.07);
      expect(share((u) => u.last_login === null)).toBeLessThan(0.13);
      expect(share((u) => u.last_login !== null && ms(u.last_login) < nowMs - 90 * DAY)).toBeGreaterThan(0.2);
      expect(share((u) => u.expiration !== null)).toBeGreaterThan(0.1);
      expect(share((u) => u.expiration !== null && ms(u.expiration) < nowMs)).toBeGreaterThan(0.02);
      expect(share((u) => /^CRM-\d{6}$/.test(String(u.external_id)))).toBeGreaterThan(0.85);
      expect(new Set(users.map((u) => u.klass))).toEqual(
        new Set(['residential', 'business', 'staff', 'guest']),
      );
      const orgs = new Set(users.map((u) => u.organization_id));
      expect(orgs.has(null)).toBe(true);
      expect(orgs.size).toBeLessThanOrEqual(5);

      const emails = users.map((u) => u.email).filter((e): e is string => typeof e === 'string');
      expect(1 - emails.length / users.length).toBeGreaterThan(0.02);
      expect(1 - emails.length / users.length).toBeLessThan(0.07);
      expect(emails.filter((e) => e !== e.toLowerCase()).length).toBeGreaterThan(20);
      expect(emails.filter((e) => e === e.toLowerCase()).length / emails.length).toBeGreaterThan(0.9);
      const lowered = emails.map((e) => e.toLowerCase());
      expect(new Set(lowered).size).toBeLessThan(lowered.length); // some addresses are shared
      expect(new Set(lowered).size).toBeGreaterThan(lowered.length * 0.97);

      expect(profiles.map((p) => p.short_name)).toEqual([
        'aaa-01',
        'aaa-02',
        'silver',
        'gold',
        'staff',
        'guest-wifi',
      ]);
      expect(profiles.find((p) => p.short_name === 'aaa-01')?.name).toBe('Basic 10 Mbps');
      const perUser = new Map<unknown, number>();
      for (const m of user_profiles) perUser.set(m.user_id, (perUser.get(m.user_id) ?? 0) + 1);
      const none = users.length - perUser.size;
      const two = [...perUser.values()].filter((c) => c === 2).length;
      expect(none / users.length).toBeGreaterThan(0.04);
      expect(none / users.length).toBeLessThan(0.12);
      expect(two / users.length).toBeGreaterThan(0.1);
      expect([...perUser.values()].every((c) => c <= 2)).toBe(true);
      expect(new Set(user_profiles.map((m) => m.profile_id)).size).toBe(6);

      expect(new Set(reply_attributes.map((r) => r.attr))).toEqual(
        new Set(['Session-Timeout', 'Idle-Timeout', 'Mikrotik-Rate-Limit']),
      );
      expect(reply_attributes.every((r) => r.op === ':=')).toBe(true);
      expect(check_attributes).toContainEqual(
        expect.objectContaining({ attr: 'Max-Daily-Session', op: '==', value: '14400' }),
      );
      expect(check_attributes.some((r) => r.attr === 'Simultaneous-Use' && r.op === ':=')).toBe(true);
      const withReply = new Set(reply_attributes.map((r) => r.user_id)).size / users.length;
      expect(withReply).toBeGreaterThan(0.3);
      expect(withReply).toBeLessThan(0.5);

      expect(user_attrs.every((a) => a.is_encrypted === 0)).toBe(true);
      for (const a of user_attrs) expect(() => JSON.parse(String(a.value))).not.toThrow();
      expect(user_attrs.some((a) => a.name === 'plan' && a.value === '"gold"')).toBe(true);
      expect(user_attrs.some((a) => a.name === 'notes')).toBe(true);
      const expired = user_attrs.filter((a) => a.expires_at !== null && ms(a.expires_at) < nowMs).length;
      expect(expired).toBeGreaterThan(2000 / 50 / 2);
      expect(expired).toBeLessThan((2000 / 50) * 2);
      expect(user_attrs.some((a) => a.expires_at !== null && ms(a.expires_at) > nowMs)).toBe(true);
    });
  });

  it('adds to a database that already has users and profiles without clashing', async () => {
    await withStore(async (store) => {
      expect(await seedDemo(store, 500, { now })).toEqual({ users: 500, profiles: 6 });
      expect(await seedDemo(store, 500, { now })).toEqual({ users: 500, profiles: 0 });
      const [row] = await store.query<{ users: number; names: number; max: number }>(
        'SELECT COUNT(*) AS users, COUNT(DISTINCT username) AS names, MAX(obj_id) AS max FROM users',
      );
      expect(row).toEqual({ users: 1000, names: 1000, max: 1000 });
      expect(await store.query('SELECT COUNT(*) AS n FROM profiles')).toEqual([{ n: 6 }]);
    });
  });

  it('rejects a count that is not a whole number', async () => {
    await withStore(async (store) => {
      await expect(seedDemo(store, -1)).rejects.toThrow(UsageError);
      await expect(seedDemo(store, 1.5)).rejects.toThrow(UsageError);
    });
  });
});
