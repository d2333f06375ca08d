import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filterUsersQuery } from '../helpers/filter-users-query.js';
import { FilterSyntaxError, parseFilter } from '../../src/select/parse-filter.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { insertReturningId } from '../../src/store/insert-returning-id.js';
import { usingStore } from '../../src/store/using-store.js';
import { DIALECTS, dropTestDbs, testDbUrl, type Dialect } from '../helpers/dialects.js';

const NOW = new Date('2026-01-31T12:00:00.000Z');
afterAll(dropTestDbs);

/** Users whose data is itself hostile, so a literal match must find exactly them. */
const USERS = [
  { username: 'plain', description: 'nothing to see', profile: "'; DROP TABLE profiles; --", note: 'ok' },
  { username: "x' OR 1=1 --", description: null, profile: null, note: "x' OR 1=1 --" },
  { username: '100%', description: '50% off_now', profile: '%', note: '%' },
  { username: 'a_b', description: 'under_score', profile: '_', note: null },
  { username: 'back\\slash', description: 'C:\\dir\\', profile: null, note: '\\' },
  { username: 'quote"d', description: '"quoted"', profile: 'quote"d', note: '"' },
  { username: "o'neil", description: "it's", profile: null, note: "''" },
  { username: 'Robert"); DROP TABLE users; --', description: 'bobby tables', profile: null, note: null },
];

const HOSTILE = [
  "x' OR 1=1 --",
  "' OR '1'='1",
  '%',
  '_',
  '\\',
  '\\%',
  "'",
  '"',
  "''",
  '"); DROP TABLE users; --',
  "' UNION SELECT name, sql FROM sqlite_master --",
  '\u0000',
  "\u0000' OR '1'='1",
  'a\u0000',
  '\u2028\u2029',
  '\ud800',
  '😀',
  '*',
  '[a-z]*',
  '?',
  '?1',
  ':name',
  '@p',
  '$1',
  '%_%',
  '100%',
  'A_B',
  '\x1b[2J',
];

/** What each dialect's `lower()` folds: SQLite ASCII letters only, the servers every letter. */
const FOLD: Record<Dialect, (s: string) => string> = {
  sqlite: (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase()),
  postgres: (s) => s.toLowerCase(),
  mysql: (s) => s.toLowerCase(),
};

/** The tables of the database, and a check of its files where the dialect has one. */
const SCHEMA: Record<Dialect, { tables: string; integrity?: [sql: string, ok: unknown] }> = {
  sqlite: {
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    integrity: ['PRAGMA integrity_check', [{ integrity_check: 'ok' }]],
  },
  postgres: {
    tables:
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  },
  mysql: {
    tables:
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1',
  },
};

describe.each(DIALECTS)('%s', (dialect) => {
  let location: string;
  beforeAll(async () => {
    location = await testDbUrl(dialect);
    await usingStore({ location, create: true }, async (store) => {
      const { db } = store;
      const bool = (b: boolean) => (store.capabilities.booleansAsIntegers ? Number(b) : b);
      for (const [i, u] of USERS.entries()) {
        await db
          .insertInto('users')
          .values({ username: u.username, description: u.description, is_active: bool(true) })
          .execute();
        if (u.profile !== null) {
          const id = await insertReturningId(
            store,
            db.insertInto('profiles').values({ short_name: u.profile }),
            'id',
          );
          await db
            .insertInto('user_profiles')
            .values({ user_id: i + 1, profile_id: id, priority: 1 })
            .execute();
        }
        if (u.note !== null) {
          await db
            .insertInto('user_attrs')
            .values({
              user_id: i + 1,
              name: 'note',
              value: JSON.stringify(u.note),
              is_encrypted: bool(false),
              created_at: NOW.toISOString(),
              updated_at: NOW.toISOString(),
            })
            .execute();
        }
      }
    });
  });

  async function match(store: StoreDriver, filter: string): Promise<string[]> {
    const rows = await filterUsersQuery(store.db, parseFilter(filter), {
      capabilities: store.capabilities,
      now: NOW,
    })
      .select('username')
      .orderBy('obj_id')
      .execute();
    return rows.map((r) => r.username);
  }

  const fold = FOLD[dialect];

  /** What a string operator means, computed in JS: the oracle the SQL must agree with. */
  function holds(value: string | null, op: string, literal: string): boolean {
    if (value === null) return op === 'ne';
    const v = fold(value);
    const l = fold(literal);
    switch (op) {
      case 'eq':
        return v === l;
      case 'ne':
        return v !== l;
      case 'co':
        return v.includes(l);
      case 'sw':
        return v.startsWith(l);
      case 'ew':
        return v.endsWith(l);
      default:
        throw new Error(op);
    }
  }

  const OPS = ['eq', 'ne', 'co', 'sw', 'ew'];
  const FIELDS: [string, (u: (typeof USERS)[number]) => string | null][] = [
    ['username', (u) => u.username],
    ['description', (u) => u.description],
    ['profiles.short_name', (u) => u.profile],
    ['attrs.value', (u) => u.note],
  ];

  async function tableIsIntact(store: StoreDriver): Promise<void> {
    const schema = SCHEMA[dialect];
    const tables = await store.query<{ name: string }>(schema.tables);
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['users', 'profiles', 'user_profiles', 'user_attrs', 'filters']),
    );
    const usernames = await store.query<{ username: string }>('SELECT username FROM users ORDER BY obj_id');
    expect(usernames.map((u) => u.username)).toEqual(USERS.map((u) => u.username));
    if (schema.integrity) expect(await store.query(schema.integrity[0])).toEqual(schema.integrity[1]);
  }

  describe('hostile string literals are only ever values', () => {
    for (const [field, read] of FIELDS) {
      it(`${field}: every operator agrees with the JS oracle for every hostile literal`, async () => {
        await usingStore({ location }, async (store) => {
          for (const literal of HOSTILE) {
            for (const op of OPS) {
              // Inside attrs[...] the oracle is about the rows that exist: ne needs a row.
              const expected = USERS.filter((u) =>
                field.includes('.') && read(u) === null ? false : holds(read(u), op, literal),
              ).map((u) => u.username);
              const filter = `${field} ${op} ${JSON.stringify(literal)}`;
              if (literal.includes('\u0000')) {
                // SQLite's LIKE would read the pattern only up to NUL: refused before any SQL.
                expect(() => parseFilter(filter), filter).toThrow(/cannot contain NUL/);
                continue;
              }
              expect(await match(store, filter), filter).toEqual(expected);
            }
          }
          await tableIsIntact(store);
        });
      });
    }

    it('finds the users whose data is hostile, and no one else', async () => {
      await usingStore({ location }, async (store) => {
        expect(await match(store, 'username eq "x\' OR 1=1 --"')).toEqual(["x' OR 1=1 --"]);
        expect(await match(store, 'username co "%"')).toEqual(['100%']);
        expect(await match(store, 'username co "_"')).toEqual(['a_b']);
        expect(await match(store, 'username co "\\\\"')).toEqual(['back\\slash']);
        expect(await match(store, 'username co "\\""')).toEqual([
          'quote"d',
          'Robert"); DROP TABLE users; --',
        ]);
        expect(await match(store, 'username ew "\\"); drop table users; --"')).toEqual([
          'Robert"); DROP TABLE users; --',
        ]);
        expect(await match(store, 'profiles[short_name eq "\'; DROP TABLE profiles; --"]')).toEqual([
          'plain',
        ]);
        expect(await match(store, 'attrs[name eq "note" and value eq "\'\'"]')).toEqual(["o'neil"]);
        await tableIsIntact(store);
      });
    });
  });

  describe('hostile text in attribute or operator position is a syntax error', () => {
    const attempts = [
      'username) or 1=1--',
      'username eq "x") or 1=1--',
      'profiles[short_name eq "a"] or 1=1',
      'profiles[short_name eq "a" or 1=1]',
      'attrs[name eq "a"]) or (1=1',
      'username eq "x" or 1=1',
      'username eq "x" --',
      'username eq "x" /* */',
      'username eq "x"; DROP TABLE users; --',
      "username eq x' or '1'='1",
      "username eq 'x'",
      '"users"."username" eq "x"',
      'users.username eq "x"',
      'sqlite_master.name eq "users"',
      'username; DROP TABLE users eq "x"',
      'username eq "a" union select * from users',
      'username eq "a" and (select 1)',
      'lower(username) eq "a"',
      'username eq ?',
      'username eq :name',
      'username eq $1',
      'username eq @p',
      'username eq "a" collate nocase',
      'username like "a%"',
      'username eq "a" escape "!"',
      'obj_id eq 1 or obj_id eq 0x1',
      'obj_id eq 1e999',
      'obj_id eq 1; DELETE FROM users',
      'obj_id in (1, 2)',
      'profiles[short_name eq "a"].name eq "x"',
      'profiles[user_id eq 1]',
      'attrs[is_encrypted eq 1]',
      'attrs[name eq "a" and users.obj_id pr]',
      'username\u0000 eq "x"',
      'username eq "unterminated',
      `${'('.repeat(10_000)}email pr${')'.repeat(10_000)}`,
      `${'not '.repeat(10_000)}email pr`,
      `${'profiles['.repeat(60)}`,
      Array.from({ length: 1_000 }, (_, i) => `obj_id eq ${i}`).join(' or '),
    ];

    it.each(attempts.map((a) => [a.length > 60 ? `${a.slice(0, 60)}…` : a, a]))('%s', async (_, filter) => {
      expect(() => parseFilter(filter)).toThrow(FilterSyntaxError);
    });

    it('leaves the database intact', async () => {
      await usingStore({ location }, tableIsIntact);
    });
  });

  describe('filters at the size limits still run', () => {
    it('runs a long chain and a deep nesting without a database error', async () => {
      await usingStore({ location }, async (store) => {
        const chain = Array.from(
          { length: 66 },
          (_, i) => `attributes[attr eq "A${i}" and value gt ${i}]`,
        ).join(' or ');
        expect(await match(store, chain)).toEqual([]);
        const deep = `${'not ('.repeat(24)}profiles[not short_name eq "%"]${')'.repeat(24)}`;
        expect(await match(store, deep)).toEqual(['plain', 'a_b', 'quote"d']);
        const both = `${'not ('.repeat(24)}${Array.from({ length: 190 }, () => 'description co "\'"').join(' and ')}${')'.repeat(24)}`;
        expect(await match(store, both)).toEqual(["o'neil"]);
        await tableIsIntact(store);
      });
    });
  });
});
