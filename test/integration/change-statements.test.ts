import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planUndo } from '../../src/journal/plan-undo.js';
import type { Change } from '../../src/model/change.js';
import { changeStatements, userById, userByName } from '../../src/store/change-statements.js';
import { planUserChanges } from '../../src/run/plan-user-changes.js';
import type { SandboxOutcome } from '../../src/sandbox/protocol.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { describeDbError } from '../../src/store/describe-db-error.js';
import { loadUsers } from '../../src/store/load-users.js';
import { openStore, migrateStore } from '../../src/store/using-store.js';
import { usingWriter, writeAll } from '../../src/store/writer.js';
import { advanceIdentity, dumpDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testDbUrl } from '../helpers/dialects.js';

const now = new Date('2026-06-01T00:00:00.000Z');
const row = (attr: string, value: string) => ({ id: null, attr, op: ':=', value });
afterAll(dropTestDbs);

describe.each(DIALECTS)('%s', (dialect) => {
  let path: string;
  let store: StoreDriver;

  beforeAll(async () => {
    path = await testDbUrl(dialect);
    store = await openStore({ location: path, create: true });
    await migrateStore(store);
    await writeAll(store, [
      {
        sql: "INSERT INTO profiles (id, short_name, name) VALUES (1, 'aaa-01', 'Basic'), (2, 'gold', 'Gold')",
        params: [],
      },
      {
        sql: "INSERT INTO users (obj_id, username, email, is_active) VALUES (7, 'alice', 'A@x.net', ?), (8, 'bob', 'b@x.net', ?)",
        params: [true, true],
      },
      { sql: 'INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (7, 1, 1)', params: [] },
      {
        sql: "INSERT INTO reply_attributes (id, user_id, attr, op, value) VALUES (10, 7, 'Session-Timeout', ':=', '3600'), (11, 7, 'Idle-Timeout', '=', '60')",
        params: [],
      },
      {
        sql: "INSERT INTO check_attributes (id, user_id, attr, op, value) VALUES (20, 7, 'Simultaneous-Use', ':=', '1')",
        params: [],
      },
      {
        sql: `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at) VALUES
            (7, 'plan', '"silver"', ?, NULL, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
            (7, 'old', '1', ?, '2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
        params: [false, false],
      },
    ]);
    for (const table of ['users', 'profiles', 'reply_attributes', 'check_attributes']) {
      await advanceIdentity(path, table);
    }
  });
  afterAll(async () => {
    await store.close();
  });

  async function user7() {
    const user = (await loadUsers(store, [7])).get(7);
    if (!user) throw new Error('user 7 missing');
    return user;
  }

  describe('changeStatements', () => {
    it('binds every value as a parameter', () => {
      const changes: Change[] = [
        { kind: 'field', target: 'email', before: 'a', after: "x'); DROP TABLE users; --" },
        {
          kind: 'reply',
          target: 'X',
          before: null,
          after: { id: null, attr: 'X', op: '=', value: "1' OR '1'='1" },
        },
      ];
      const statements = changeStatements(userById(7), changes, now.toISOString());
      for (const s of statements) expect(s.sql).not.toContain("'1'='1");
      expect(statements[0]).toEqual({
        sql: 'UPDATE users SET email = ? WHERE obj_id = ?',
        params: ["x'); DROP TABLE users; --", 7],
      });
    });

    it('applies a planned change set and its undo restores the database exactly', async () => {
      const before = await dumpDb(path);
      const outcome: SandboxOutcome = {
        seq: 0,
        status: 'done',
        logs: [],
        fields: { email: 'alice@x.net', is_active: false, expiration: '2027-01-01T00:00:00Z' },
        profiles: [{ id: 2, priority: 2 }],
        attributes: [
          { id: 10, attr: 'Session-Timeout', op: ':=', value: '7200' },
          { id: null, attr: 'Reply-Message', op: '+=', value: 'hi' },
        ],
        check_attributes: [
          { id: 20, attr: 'Simultaneous-Use', op: ':=', value: '1' },
          { id: null, attr: 'Max-Daily-Session', op: '==', value: '14400' },
        ],
        attrs: {
          plan: { op: 'set', json: '{"tier":"gold"}', expiration: null, encrypt: false },
          old: { op: 'set', json: '2', expiration: 3600, encrypt: false },
          fresh: { op: 'set', json: '[1,2]', expiration: null, encrypt: false },
        },
      };
      const stored = await user7();
      const changes = planUserChanges(stored, outcome, {
        profiles: new Map([
          [1, { short_name: 'aaa-01' }],
          [2, { short_name: 'gold' }],
        ]),
        now,
        cipher: null,
      });
      await writeAll(store, changeStatements(userById(7), changes, now.toISOString()));

      const after = await user7();
      expect(after.fields['email']).toBe('alice@x.net');
      expect(after.fields['is_active']).toBe(false);
      expect(after.fields['last_update']).toBe(now.toISOString());
      expect(after.profiles.map((p) => p.short_name)).toEqual(['gold']);
      expect(after.attributes.map((r) => `${r.attr} ${r.op} ${r.value}`)).toEqual([
        'Session-Timeout := 7200',
        'Reply-Message += hi',
      ]);
      expect(after.check_attributes.map((r) => `${r.attr} ${r.op} ${r.value}`)).toEqual([
        'Simultaneous-Use := 1',
        'Max-Daily-Session == 14400',
      ]);
      expect(after.attrs.map((a) => [a.name, a.value])).toEqual([
        ['fresh', '[1,2]'],
        ['old', '2'],
        ['plan', '{"tier":"gold"}'],
      ]);
      expect((await dumpDb(path))['users']?.find((u: any) => u.obj_id === 8)).toEqual(
        before['users']?.find((u: any) => u.obj_id === 8),
      );

      const undo = planUndo({ user: after, profile: null }, changes, false);
      expect(undo.conflicts).toEqual([]);
      await writeAll(store, changeStatements(userById(7), undo.changes, now.toISOString()));
      const restored = await dumpDb(path);
      // Removed rows come back with their own ids: the dump is identical.
      expect(restored.users).toEqual(before.users);
      expect(restored.user_profiles).toEqual(before.user_profiles);
      expect(restored.reply_attributes).toEqual(before.reply_attributes);
      expect(restored.check_attributes).toEqual(before.check_attributes);
      expect(restored.user_attrs).toEqual(before.user_attrs);
    });

    it('reports a conflict when the user changed again, and --force undoes anyway', async () => {
      const stored = await user7();
      const changes = planUserChanges(
        stored,
        { seq: 0, status: 'done', logs: [], fields: { email: 'one@x.net' } },
        { profiles: new Map(), now, cipher: null },
      );
      await writeAll(store, changeStatements(userById(7), changes, now.toISOString()));
      await writeAll(store, [
        { sql: "UPDATE users SET email = 'someone-else@x.net' WHERE obj_id = 7", params: [] },
      ]);
      const current = await user7();
      const plain = planUndo({ user: current, profile: null }, changes, false);
      expect(plain.changes).toEqual([]);
      expect(plain.conflicts.map((c) => c.reason)).toEqual(['field email was changed again since the run']);
      const forced = planUndo({ user: current, profile: null }, changes, true);
      await writeAll(store, changeStatements(userById(7), forced.changes, now.toISOString()));
      expect((await user7()).fields['email']).toBe(stored.fields['email']);
    });

    it('names a user and a profile created in the unit for their rows (MySQL: a captured id)', async () => {
      const capture = store.capabilities.captureId;
      const changes: Change[] = [
        {
          kind: 'user',
          target: 'newbie',
          before: null,
          after: { username: 'newbie', username_length: 6, is_active: true },
        },
        { kind: 'profile', target: 'gold', before: null, after: { id: 2, priority: 1 } },
        { kind: 'check', target: 'Cleartext-Password', before: null, after: row('Cleartext-Password', 'pw') },
        { kind: 'reply', target: 'Session-Timeout', before: null, after: row('Session-Timeout', '60') },
        { kind: 'group', target: 'fresh', before: null, after: { name: 'fresh', description: null } },
        { kind: 'group_reply', target: 'fresh', before: null, after: row('Idle-Timeout', '600') },
      ];
      // The child tables' triggers update users and profiles: on MySQL no statement that fires
      // them may read those tables (error 1442), so the ids are captured first.
      await writeAll(
        store,
        changeStatements(userByName('newbie', capture), changes, now.toISOString(), { captureId: capture }),
      );
      const [created] = await store.query<{ obj_id: number }>(
        "SELECT obj_id FROM users WHERE username = 'newbie'",
      );
      const newbie = (await loadUsers(store, [Number(created?.obj_id)])).get(Number(created?.obj_id));
      expect(newbie?.profiles.map((p) => p.short_name)).toEqual(['gold']);
      expect(newbie?.check_attributes.map((r) => r.value)).toEqual(['pw']);
      expect(newbie?.attributes.map((r) => r.value)).toEqual(['60']);
      expect(
        await store.query(
          "SELECT a.attr, a.value FROM profile_reply_attributes a JOIN profiles p ON p.id = a.profile_id WHERE p.short_name = 'fresh'",
        ),
      ).toEqual([{ attr: 'Idle-Timeout', value: '600' }]);
    });

    it('a failing statement rolls the whole batch back; a rehearsal writes nothing', async () => {
      const before = await dumpDb(path);
      const failure = await writeAll(store, [
        { sql: "UPDATE users SET email = 'changed@x.net' WHERE obj_id = 8", params: [] },
        { sql: "UPDATE users SET username = 'alice' WHERE obj_id = 8", params: [] },
      ]).catch((e: unknown) => e);
      // Every dialect's error reads the same to an admin.
      expect(describeDbError(failure, store.capabilities)).toBe(
        'database refused the change: username already taken by another user',
      );
      expect(await dumpDb(path)).toEqual(before);
      // rehearse: later reads see earlier writes, a failing batch undoes only itself, and at the
      // end nothing is written.
      const seen = await usingWriter(store, { rehearsal: true }, async (writer) => {
        await writer.unit([{ sql: "UPDATE users SET email = 'dry@x.net' WHERE obj_id = 8", params: [] }]);
        const error = await writer
          .unit([{ sql: "UPDATE users SET username = 'alice' WHERE obj_id = 8", params: [] }])
          .catch((e: unknown) => e);
        expect(store.capabilities.classifyError(error)).toEqual({
          kind: 'unique',
          table: 'users',
          column: 'username',
        });
        await writer.commit();
        return writer.query<{ email: string }>('SELECT email FROM users WHERE obj_id = 8');
      });
      expect(seen).toEqual([{ email: 'dry@x.net' }]);
      expect(await dumpDb(path)).toEqual(before);
    });
  });
});
