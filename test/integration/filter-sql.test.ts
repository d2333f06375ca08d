import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter, type CompileContext } from '../../src/select/compile-filter.js';
import { filterUsersQuery } from '../helpers/filter-users-query.js';
import { parseFilter } from '../../src/select/parse-filter.js';
import type { NewUser } from '../../src/store/database.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { usingStore } from '../../src/store/using-store.js';
import { DIALECTS, dropTestDbs, testDbUrl, type Dialect } from '../helpers/dialects.js';

const NOW = new Date('2026-01-31T12:00:00.000Z');
afterAll(dropTestDbs);

const USERS: NewUser[] = [
  {
    username: 'alice',
    email: 'Alice@Example.com',
    first_name: 'Alice',
    klass: 'gold',
    is_active: 1,
    last_login: '2026-01-30T10:00:00.000Z',
    date_joined: '2020-05-01T00:00:00.000Z',
    organization_id: 10,
    description: '100% sure_thing\\path',
  },
  {
    username: 'bob',
    email: 'bob@example.org',
    klass: 'silver',
    is_active: 0,
    last_login: '2025-09-01T00:00:00.000Z',
    date_joined: '2026-01-31T00:00:00.000Z',
    organization_id: 20,
    description: '1000 surexthing',
  },
  { username: 'carol', email: null, klass: '', is_active: 1, last_login: null, organization_id: null },
  {
    username: 'dave',
    email: 'DAVE@EXAMPLE.COM',
    klass: 'Gold',
    is_active: 1,
    last_login: '2025-11-02T12:00:00.000Z',
    expiration: '2026-02-05T00:00:00.000Z',
    organization_id: 10,
  },
  {
    username: 'eve',
    email: "o'brien@example.com",
    klass: null,
    is_active: 0,
    last_login: '2026-01-31T11:45:00.000Z',
    organization_id: 30,
  },
];

async function seed(store: StoreDriver): Promise<void> {
  const { db } = store;
  await db.insertInto('users').values(USERS).execute();
  await db
    .insertInto('profiles')
    .values([
      { short_name: 'aaa-01', name: 'Basic', description: 'entry level' },
      { short_name: 'bbb-02', name: 'Premium', description: null },
      { short_name: 'ccc-03', name: 'Unused', description: null },
    ])
    .execute();
  await db
    .insertInto('user_profiles')
    .values([
      { user_id: 1, profile_id: 1, priority: 1 },
      { user_id: 1, profile_id: 2, priority: 5 },
      { user_id: 2, profile_id: 1, priority: 2 },
      { user_id: 4, profile_id: 2, priority: 1 },
    ])
    .execute();
  await db
    .insertInto('reply_attributes')
    .values([
      { user_id: 1, attr: 'Session-Timeout', op: ':=', value: '3600' },
      { user_id: 2, attr: 'Session-Timeout', op: ':=', value: '900' },
      { user_id: 3, attr: 'Idle-Timeout', op: '=', value: '600' },
      { user_id: 4, attr: 'Session-Timeout', op: ':=', value: 'abc' },
      { user_id: 4, attr: 'Framed-IP-Address', op: '=', value: '10.0.0.1' },
      { user_id: 5, attr: 'Reply-Message', op: '=', value: '12:30' },
    ])
    .execute();
  await db
    .insertInto('check_attributes')
    .values([
      { user_id: 1, attr: 'Simultaneous-Use', op: ':=', value: '1' },
      { user_id: 2, attr: 'Cleartext-Password', op: ':=', value: 'secret' },
      { user_id: 4, attr: 'NAS-IP-Address', op: '==', value: '10.0.0.9' },
      { user_id: 5, attr: 'Auth-Type', op: ':=', value: 'Reject' },
    ])
    .execute();
  const attr = (
    user_id: number,
    name: string,
    value: string,
    extra: { expires_at?: string; is_encrypted?: number; created_at?: string } = {},
  ) => ({
    user_id,
    name,
    value,
    is_encrypted: extra.is_encrypted ?? 0,
    expires_at: extra.expires_at ?? null,
    created_at: extra.created_at ?? '2026-01-15T00:00:00.000Z',
    updated_at: extra.created_at ?? '2026-01-15T00:00:00.000Z',
  });
  await db
    .insertInto('user_attrs')
    .values([
      attr(1, 'plan', '"gold"', { created_at: '2025-06-01T00:00:00.000Z' }),
      attr(1, 'quota', '5', { created_at: '2025-06-01T00:00:00.000Z' }),
      attr(2, 'plan', '"Silver"', { expires_at: '2026-01-01T00:00:00.000Z' }),
      attr(2, 'vip', 'true'),
      attr(3, 'plan', 'bm90IGpzb24sIGNpcGhlcnRleHQ=', { is_encrypted: 1 }),
      // Ciphertext that happens to read as JSON: only is_encrypted keeps it from matching.
      attr(3, 'pin', '42', { is_encrypted: 1 }),
      attr(4, 'plan', '"gold"', { expires_at: '2026-02-10T00:00:00.000Z' }),
      attr(4, 'quota', '"5"'),
      attr(5, 'plan', '"bronze"'),
      attr(5, 'nickname', 'null'),
      attr(5, 'tags', '["a","b"]'),
    ])
    .execute();
}

/** What differs in the SQL text: quoting, placeholders, and where lower(column) comes from. */
const SQL_TEXT: Record<Dialect, { lowerEmail: string; escape: string; true: unknown; false: unknown }> = {
  sqlite: { lowerEmail: 'lower("users"."email")', escape: "escape '\\'", true: 1, false: 0 },
  postgres: { lowerEmail: 'lower("users"."email")', escape: "escape '\\'", true: true, false: false },
  mysql: { lowerEmail: '"users"."email_lower"', escape: "escape '\\\\'", true: 1, false: 0 },
};

/** Compiled SQL in one spelling: `"quoted"` identifiers and `?` placeholders. */
function canonical(text: string): string {
  return text.replace(/`/g, '"').replace(/\$\d+/g, '?');
}

describe.each(DIALECTS)('%s', (dialect) => {
  let location: string;
  const text = SQL_TEXT[dialect];
  beforeAll(async () => {
    location = await testDbUrl(dialect);
    await usingStore({ location, create: true }, seed);
  });

  function context(store: StoreDriver): CompileContext {
    return { capabilities: store.capabilities, now: NOW };
  }

  /** The usernames a filter selects, in obj_id order, from the real SQLite file. */
  function match(filter: string): Promise<string[]> {
    return usingStore({ location }, async (store) => {
      const rows = await filterUsersQuery(store.db, parseFilter(filter), context(store))
        .select('username')
        .orderBy('obj_id')
        .execute();
      return rows.map((r) => r.username);
    });
  }

  function compiled(filter: string): Promise<{ sql: string; parameters: readonly unknown[] }> {
    return usingStore({ location }, async (store) => {
      const query = store.db
        .selectFrom('users')
        .select('username')
        .where(compileFilter(parseFilter(filter), context(store)))
        .orderBy('obj_id')
        .compile();
      return { sql: canonical(query.sql), parameters: query.parameters };
    });
  }

  type Case = [filter: string, usernames: string[]];

  function cases(list: Case[]): void {
    it.each(list)('%s → %j', async (filter, usernames) => {
      expect(await match(filter)).toEqual(usernames);
    });
  }

  describe('compiled SQL', () => {
    it('binds every value as a parameter', async () => {
      const { sql, parameters } = await compiled('email eq "alice@example.com"');
      expect(sql).toBe(
        `select "username" from "users" where ("users"."email" is not null and ${text.lowerEmail} = lower(?)) order by "obj_id"`,
      );
      expect(parameters).toEqual(['alice@example.com']);
    });

    it('escapes LIKE wildcards in the parameter, with a fixed ESCAPE clause', async () => {
      const { sql, parameters } = await compiled('description co "50%_off\\\\"');
      expect(sql).toContain(`lower("users"."description") like lower(?) ${text.escape}`);
      expect(parameters).toEqual(['%50\\%\\_off\\\\%']);
    });

    it('turns relative dates into ISO parameters from now', async () => {
      const { sql, parameters } = await compiled('last_login lt "-90d" and expiration lt "+7d"');
      expect(sql).toContain('"users"."last_login" < ?');
      expect(parameters).toEqual(['2025-11-02T12:00:00.000Z', '2026-02-07T12:00:00.000Z']);
    });

    it('compares booleans with 0/1 where the dialect stores them so, and true/false elsewhere', async () => {
      expect((await compiled('is_active eq true')).parameters).toEqual([text.true]);
      const query = await usingStore({ location }, async (store) =>
        store.db
          .selectFrom('users')
          .select('obj_id')
          .where(
            compileFilter(parseFilter('is_active ne false'), {
              now: NOW,
              capabilities: { ...store.capabilities, booleansAsIntegers: false },
            }),
          )
          .compile(),
      );
      expect(query.parameters).toEqual([false]);
    });

    it('correlates complex attributes with EXISTS on users.obj_id', async () => {
      const { sql, parameters } = await compiled('profiles[short_name eq "aaa-01" and priority gt 1]');
      expect(sql).toContain(
        'exists (select 1 as "one" from "user_profiles" inner join "profiles" on "profiles"."id" = "user_profiles"."profile_id" where "user_profiles"."user_id" = "users"."obj_id" and',
      );
      expect(sql).toContain('"user_profiles"."priority" > ?');
      expect(parameters).toEqual(['aaa-01', 1]);
    });

    it('reads attrs values only when unexpired and not encrypted', async () => {
      const { sql, parameters } = await compiled('attrs[name eq "plan" and value eq "gold"]');
      expect(sql).toContain('"user_attrs"."expires_at" is null or "user_attrs"."expires_at" > ?');
      expect(sql).toContain('"user_attrs"."is_encrypted" = ?');
      expect(parameters).toEqual([NOW.toISOString(), 'plan', text.false, '"gold"']);
    });

    it.each([
      'username eq "zq-needle"',
      'email co "zq-needle" or klass sw "zq-needle" or description ew "zq-needle"',
      'not (first_name gt "zq-needle")',
      'profiles[name eq "zq-needle"] and attributes[value co "zq-needle"]',
      'check_attributes[attr eq "zq-needle" and value eq "zq-needle"]',
      'attrs[name eq "zq-needle" and (value eq "zq-needle" or value sw "zq-needle")]',
      'organization_id eq 987654 or attributes[value gt 987654] or attrs[value lt 987654]',
    ])('never pastes a value into the SQL text: %s', async (filter) => {
      const { sql, parameters } = await compiled(filter);
      expect(sql).not.toMatch(/zq-needle|987654/);
      expect(sql).toContain('?');
      expect(parameters.some((p) => String(p).includes('zq-needle') || p === 987654)).toBe(true);
    });
  });

  describe('strings: case-insensitive, ne and not include NULL', () => {
    cases([
      ['email eq "alice@example.com"', ['alice']],
      ['EMAIL EQ "ALICE@EXAMPLE.COM"', ['alice']],
      ['username eq "ALICE"', ['alice']],
      ['email ne "alice@example.com"', ['bob', 'carol', 'dave', 'eve']],
      ['not (email eq "alice@example.com")', ['bob', 'carol', 'dave', 'eve']],
      ['email co "EXAMPLE"', ['alice', 'bob', 'dave', 'eve']],
      ['not (email co "example")', ['carol']],
      ['email sw "dave"', ['dave']],
      ['email ew ".ORG"', ['bob']],
      ['email co "\'"', ['eve']],
      ['email gt "c"', ['dave', 'eve']],
      ['email ge "dave@example.com"', ['dave', 'eve']],
      ['email lt "b"', ['alice']],
      ['email le "bob@example.org"', ['alice', 'bob']],
      ['email pr', ['alice', 'bob', 'dave', 'eve']],
      ['klass pr', ['alice', 'bob', 'dave']],
      ['not (klass pr)', ['carol', 'eve']],
      ['email eq null', ['carol']],
      ['email ne null', ['alice', 'bob', 'dave', 'eve']],
      ['klass eq "gold"', ['alice', 'dave']],
      ['klass ne "gold"', ['bob', 'carol', 'eve']],
      ['klass eq ""', ['carol']],
    ]);
  });

  describe('LIKE wildcards in values are literal', () => {
    cases([
      ['description co "0%"', ['alice']],
      ['description co "e_t"', ['alice']],
      ['description co "\\\\"', ['alice']],
      ['description sw "100%"', ['alice']],
      ['description ew "\\\\path"', ['alice']],
      ['description co "%"', ['alice']],
      ['description co "_"', ['alice']],
      ['description co "sure"', ['alice', 'bob']],
    ]);
  });

  describe('numbers and booleans', () => {
    cases([
      ['organization_id eq 10', ['alice', 'dave']],
      ['organization_id ne 10', ['bob', 'carol', 'eve']],
      ['organization_id gt 10', ['bob', 'eve']],
      ['organization_id ge 20', ['bob', 'eve']],
      ['organization_id lt 20', ['alice', 'dave']],
      ['organization_id le 10', ['alice', 'dave']],
      ['organization_id gt -1.5', ['alice', 'bob', 'dave', 'eve']],
      ['organization_id lt 1e2', ['alice', 'bob', 'dave', 'eve']],
      ['organization_id pr', ['alice', 'bob', 'dave', 'eve']],
      ['not (organization_id gt 15)', ['alice', 'carol', 'dave']],
      ['obj_id le 2', ['alice', 'bob']],
      ['is_active eq true', ['alice', 'carol', 'dave']],
      ['is_active eq false', ['bob', 'eve']],
      ['is_active ne true', ['bob', 'eve']],
    ]);
  });

  describe('timestamps: dates, ISO times and relative times from now', () => {
    cases([
      ['last_login lt "-90d"', ['bob']],
      ['last_login le "-90d"', ['bob', 'dave']],
      ['last_login gt "-2d"', ['alice', 'eve']],
      ['last_login gt "-1d"', ['eve']],
      ['last_login ge "-12h"', ['eve']],
      ['last_login gt "-30m"', ['eve']],
      ['last_login ge "-1w"', ['alice', 'eve']],
      ['not (last_login ge "-90d")', ['bob', 'carol']],
      ['last_login eq null', ['carol']],
      ['last_login ne "2025-11-02T12:00:00Z"', ['alice', 'bob', 'carol', 'eve']],
      ['last_login eq "2025-11-02T13:00:00+01:00"', ['dave']],
      ['date_joined eq "2026-01-31"', ['bob']],
      ['date_joined lt "2021-01-01T00:00:00+01:00"', ['alice']],
      ['date_joined ge "2021-01-01"', ['bob']],
      ['expiration lt "+7d"', ['dave']],
      ['expiration lt "+4d"', []],
      ['expiration pr', ['dave']],
    ]);
  });

  describe('profiles[...]', () => {
    cases([
      ['profiles[short_name eq "AAA-01"]', ['alice', 'bob']],
      ['profiles.short_name eq "bbb-02"', ['alice', 'dave']],
      ['profiles[short_name eq "bbb-02" and priority gt 1]', ['alice']],
      ['profiles[id eq 2]', ['alice', 'dave']],
      ['profiles[name co "prem"]', ['alice', 'dave']],
      ['profiles[description pr]', ['alice', 'bob']],
      ['profiles[not (short_name eq "aaa-01")]', ['alice', 'dave']],
      ['not profiles[short_name eq "aaa-01"]', ['carol', 'dave', 'eve']],
      ['profiles[short_name eq "ccc-03"]', []],
      ['profiles pr', ['alice', 'bob', 'dave']],
      ['not (profiles pr)', ['carol', 'eve']],
    ]);
  });

  describe('attributes[...] and check_attributes[...]', () => {
    cases([
      ['attributes[attr eq "session-timeout" and value gt 1000]', ['alice']],
      ['attributes[attr eq "Session-Timeout" and value gt "1000"]', ['alice']],
      ['attributes[value lt 1000]', ['bob', 'carol']],
      ['attributes[value ge 0]', ['alice', 'bob', 'carol']],
      ['attributes[value eq 3600]', ['alice']],
      ['attributes[value eq "3600"]', ['alice']],
      ['attributes[value ne 3600]', ['bob', 'carol', 'dave', 'eve']],
      ['attributes[value eq "ABC"]', ['dave']],
      ['attributes[attr eq "framed-ip-address" and value sw "10.0"]', ['dave']],
      ['attributes.attr eq "Idle-Timeout"', ['carol']],
      ['check_attributes[attr eq "Simultaneous-Use" and value eq 1]', ['alice']],
      ['check_attributes[op eq ":="]', ['alice', 'bob', 'eve']],
      ['check_attributes[op eq "==" and value co "10.0.0"]', ['dave']],
      ['not (check_attributes pr)', ['carol']],
    ]);
  });

  describe('attrs[...]: unexpired rows only, encrypted values never compared', () => {
    cases([
      ['attrs[name eq "plan"]', ['alice', 'carol', 'dave', 'eve']],
      ['attrs.name eq "PLAN"', ['alice', 'carol', 'dave', 'eve']],
      ['not attrs[name eq "plan"]', ['bob']],
      ['attrs[name eq "plan" and value eq "GOLD"]', ['alice', 'dave']],
      ['attrs[name eq "plan" and value ne "gold"]', ['eve']],
      ['attrs[name eq "plan" and value co "OL"]', ['alice', 'dave']],
      ['attrs[name eq "plan" and value sw "b"]', ['eve']],
      ['attrs[name eq "plan" and value ew "ZE"]', ['eve']],
      ['attrs[name eq "plan" and value gt "c"]', ['alice', 'dave']],
      ['attrs[name eq "plan" and value eq "silver"]', []],
      ['attrs[name eq "quota" and value eq 5]', ['alice']],
      ['attrs[name eq "quota" and value eq "5"]', ['dave']],
      ['attrs[name eq "quota" and value gt 4]', ['alice']],
      ['attrs[name eq "quota" and value gt "4"]', ['dave']],
      ['attrs[name eq "quota" and value ne 5]', ['dave']],
      ['attrs[name eq "vip" and value eq true]', ['bob']],
      ['attrs[name eq "vip" and value ne false]', ['bob']],
      ['attrs[name eq "nickname" and value eq null]', ['eve']],
      ['attrs[value pr]', ['alice', 'bob', 'carol', 'dave', 'eve']],
      ['attrs[name eq "nickname" and value pr]', []],
      ['attrs[expires_at pr]', ['dave']],
      ['attrs[expires_at lt "+30d"]', ['dave']],
      ['attrs[expires_at lt "-1d"]', []],
      ['attrs[created_at lt "2026-01-01"]', ['alice']],
      ['attrs[name eq "pin"]', ['carol']],
      ['attrs[name eq "pin" and value eq 42]', []],
      ['attrs[name eq "pin" and value ge 0]', []],
      ['attrs[name eq "pin" and value ne 42]', []],
      ['attrs[value co "bm90"] or attrs[value sw "bm90"] or attrs[name eq "plan" and value gt 0]', []],
    ]);
  });

  describe('combinations', () => {
    cases([
      ['(klass eq "gold" or klass eq "silver") and not (is_active eq false)', ['alice', 'dave']],
      [
        'email co "example" and profiles[short_name eq "aaa-01"] or attrs[name eq "nickname"]',
        ['alice', 'bob', 'eve'],
      ],
      [
        'email co "example" and (profiles[short_name eq "aaa-01"] or attrs[name eq "nickname"])',
        ['alice', 'bob', 'eve'],
      ],
      ['not (email co "example" and (profiles pr or is_active eq false))', ['carol']],
      ['profiles[short_name eq "bbb-02"] and attributes[value gt 1000] and attrs[name eq "plan"]', ['alice']],
    ]);

    it('selects every user with a null filter', async () => {
      const names = await usingStore({ location }, async (store) =>
        (
          await filterUsersQuery(store.db, null, context(store))
            .select('username')
            .orderBy('obj_id')
            .execute()
        ).map((r) => r.username),
      );
      expect(names).toEqual(['alice', 'bob', 'carol', 'dave', 'eve']);
    });

    it('composes with more where clauses (keyset paging)', async () => {
      const names = await usingStore({ location }, async (store) =>
        (
          await store.db
            .selectFrom('users')
            .select('username')
            .where(compileFilter(parseFilter('email pr'), context(store)))
            .where('obj_id', '>', 2)
            .orderBy('obj_id')
            .limit(1)
            .execute()
        ).map((r) => r.username),
      );
      expect(names).toEqual(['dave']);
    });
  });
});
