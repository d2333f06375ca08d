import { writeAll } from '../../src/store/writer.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { matchCsvRows, matchCsvRowsInChunks, pickKeyColumn } from '../../src/select/match-csv-rows.js';
import { readCsv } from '../../src/select/read-csv.js';
import type { SqlValue, StoreDriver } from '../../src/store/driver.js';
import { usingStore } from '../../src/store/using-store.js';

const dir = mkdtempSync(join(tmpdir(), 'usrun-match-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function csvFile(content: string): string {
  const path = join(dir, `rows${++n}.csv`);
  writeFileSync(path, content);
  return path;
}

/** A fresh migrated SQLite file with these users (obj_id in insertion order from 1). */
async function withUsers<T>(
  users: { username: string; email?: string | null; external_id?: string | null }[],
  fn: (store: StoreDriver) => Promise<T>,
): Promise<T> {
  return usingStore({ location: join(dir, `db${++n}.sqlite`), create: true }, async (store) => {
    await writeAll(
      store,
      users.map((u) => ({
        sql: 'INSERT INTO users (username, email, external_id, is_active) VALUES (?, ?, ?, 1)',
        params: [u.username, u.email ?? null, u.external_id ?? null],
      })),
    );
    return fn(store);
  });
}

/** The store, counting the queries made through it. */
function counting(store: StoreDriver): { store: StoreDriver; queries: () => number } {
  let count = 0;
  return {
    store: {
      ...store,
      query: <T>(sql: string, params?: readonly SqlValue[]) => {
        count++;
        return store.query<T>(sql, params);
      },
    },
    queries: () => count,
  };
}

const people = [
  { username: 'alice', email: 'Alice@Example.org', external_id: 'CRM-000001' },
  { username: 'bob', email: 'shared@example.org', external_id: 'CRM-000002' },
  { username: 'carol', email: 'SHARED@example.org', external_id: null },
  { username: 'Dave', email: null, external_id: 'CRM-000004' },
  { username: 'zoë', email: 'zoe@example.org', external_id: 'CRM-000005' },
];

describe('pickKeyColumn', () => {
  it('takes the first present of obj_id, username, email, external_id, in any case', () => {
    expect(pickKeyColumn(['email', 'username', 'note'])).toBe('username');
    expect(pickKeyColumn(['External_ID', 'Email'])).toBe('Email');
    expect(pickKeyColumn(['note', 'OBJ_ID', 'username'])).toBe('OBJ_ID');
  });

  it('takes --match when the header has it', () => {
    expect(pickKeyColumn(['username', 'email'], 'email')).toBe('email');
    expect(pickKeyColumn(['username', 'External_Id'], 'external_id')).toBe('External_Id');
    expect(pickKeyColumn(['first_name', 'plan'], 'first_name')).toBe('first_name');
  });

  it('rejects --match naming a column the header lacks, listing the header', () => {
    expect(() => pickKeyColumn(['username', 'plan'], 'email', 'people.csv')).toThrow(
      new UsageError('people.csv: --match email: no such column (columns: username, plan)'),
    );
  });

  it('rejects --match on a column that is not a matchable user field', () => {
    expect(() => pickKeyColumn(['plan', 'username'], 'plan')).toThrow(/column plan cannot be the key/);
    expect(() => pickKeyColumn(['organization_id'], 'organization_id')).toThrow(UsageError);
    expect(() => pickKeyColumn(['last_login'], 'last_login')).toThrow(UsageError);
  });

  it('explains a missing key column, naming the columns', () => {
    expect(() => pickKeyColumn(['plan', 'note'], undefined, 'people.csv')).toThrow(
      new UsageError(
        'people.csv: no key column: add one of obj_id, username, email, external_id or use --match (columns: plan, note)',
      ),
    );
  });
});

describe('matchCsvRows', () => {
  it('matches by username case-insensitively and trimmed, in file order', async () => {
    const table = readCsv(
      csvFile('username,plan\n CAROL ,gold\nnobody,x\nalice,silver\n\ndave,y\nALICE,z\n'),
    );
    const key = pickKeyColumn(table.columns);
    const matches = await withUsers(people, (store) => matchCsvRows(store, key, table.rows));
    expect(matches.map((m) => [m.line, m.status, m.status === 'matched' ? m.userId : null])).toEqual([
      [2, 'matched', 3],
      [3, 'not_found', null],
      [4, 'matched', 1],
      [6, 'matched', 4],
      [7, 'matched', 1],
    ]);
    expect(matches[0]?.values).toEqual({ username: ' CAROL ', plan: 'gold' });
    expect(matches[1]).toMatchObject({ status: 'not_found', reason: 'no user with username "nobody"' });
  });

  it('reports an email shared by two users as ambiguous, and an empty key as not_found', async () => {
    const table = readCsv(csvFile('email;plan\nshared@EXAMPLE.org;gold\nalice@example.ORG;x\n;empty\n'));
    const matches = await withUsers(people, (store) => matchCsvRows(store, 'email', table.rows));
    expect(matches).toEqual([
      {
        line: 2,
        values: { email: 'shared@EXAMPLE.org', plan: 'gold' },
        status: 'ambiguous',
        userIds: [2, 3],
        reason: '2 users have email "shared@EXAMPLE.org" (obj_id 2, 3)',
      },
      { line: 3, values: { email: 'alice@example.ORG', plan: 'x' }, status: 'matched', userId: 1 },
      { line: 4, values: { email: '', plan: 'empty' }, status: 'not_found', reason: 'empty email' },
    ]);
  });

  it('folds ASCII case only, as SQL lower() does', async () => {
    const table = readCsv(csvFile('username\nZOë\nZOË\n'));
    const matches = await withUsers(people, (store) => matchCsvRows(store, 'username', table.rows));
    expect(matches.map((m) => m.status)).toEqual(['matched', 'not_found']);
  });

  it('matches obj_id as a whole number and explains other values', async () => {
    const table = readCsv(csvFile('obj_id,username\n4,x\n 2 ,y\nabc,z\n1.5,w\n99,v\n-1,u\n'));
    const key = pickKeyColumn(table.columns);
    expect(key).toBe('obj_id');
    const matches = await withUsers(people, (store) => matchCsvRows(store, key, table.rows));
    expect(
      matches.map((m) => (m.status === 'matched' ? m.userId : m.status === 'not_found' ? m.reason : m)),
    ).toEqual([
      4,
      2,
      'obj_id "abc" is not a whole number',
      'obj_id "1.5" is not a whole number',
      'no user with obj_id "99"',
      'obj_id "-1" is not a whole number',
    ]);
  });

  it('matches on a --match column such as external_id', async () => {
    const table = readCsv(csvFile('username,external_id\nwrong,crm-000004\nwrong,CRM-000002\n'));
    const key = pickKeyColumn(table.columns, 'external_id');
    const matches = await withUsers(people, (store) => matchCsvRows(store, key, table.rows));
    expect(matches.map((m) => (m.status === 'matched' ? m.userId : m.status))).toEqual([4, 2]);
  });

  it('binds keys as parameters, so quotes in a key are just text', async () => {
    const table = readCsv(csvFile(`username\n"x' OR '1'='1"\n"alice') OR 1=1 --"\n`));
    const matches = await withUsers(people, (store) => matchCsvRows(store, 'username', table.rows));
    expect(matches.map((m) => m.status)).toEqual(['not_found', 'not_found']);
  });

  it('matches a file of more than 500 rows with one query per 500 distinct keys, in file order', async () => {
    const users = Array.from({ length: 1200 }, (_, i) => ({
      username: `user${i}`,
      email: `u${i}@example.org`,
    }));
    // 1,300 rows: every user once in reverse order, a hundred repeats and a few unknowns.
    const keys = [
      ...users.map((u) => u.username).reverse(),
      ...Array.from({ length: 95 }, (_, i) => `USER${i}`),
      ...Array.from({ length: 5 }, (_, i) => `ghost${i}`),
    ];
    const table = readCsv(csvFile(`username,n\n${keys.map((k, i) => `${k},${i}`).join('\n')}\n`));
    expect(table.rows).toHaveLength(1300);
    await withUsers(users, async (store) => {
      const counted = counting(store);
      const matches = await matchCsvRows(counted.store, 'username', table.rows);
      expect(counted.queries()).toBe(3); // 1,205 distinct keys
      expect(matches.map((m) => m.line)).toEqual(table.rows.map((r) => r.line));
      expect(matches.slice(0, 3).map((m) => (m.status === 'matched' ? m.userId : null))).toEqual([
        1200, 1199, 1198,
      ]);
      expect(matches[1200]).toMatchObject({
        status: 'matched',
        userId: 1,
        values: { username: 'USER0', n: '1200' },
      });
      expect(matches.filter((m) => m.status === 'matched')).toHaveLength(1295);
      expect(matches.slice(-5).map((m) => m.status)).toEqual(Array(5).fill('not_found'));

      const chunks: number[] = [];
      for await (const chunk of matchCsvRowsInChunks(store, 'username', table.rows, 500))
        chunks.push(chunk.length);
      expect(chunks).toEqual([500, 500, 300]);
    });
  });
});
