/**
 * PostgreSQL: the writer's statements with parameters run as named statements, so a session
 * parses and plans each one once (a one-row write's most expensive part on the server), and
 * the same text always gets the same name.
 */
import { afterAll, expect, it } from 'vitest';
import { withDb } from '../helpers/db.js';
import { dropTestDbs, testStore } from '../helpers/dialects.js';

afterAll(dropTestDbs);

it('runs a lent connection’s writes as named statements, parsed once per session', async () => {
  const db = await testStore('postgres', { demo: 3 });
  await withDb(db, (store) =>
    store.withConnection(async (connection) => {
      // Statements without parameters (BEGIN, SAVEPOINT, COMMIT) stay unnamed.
      expect(await connection.execute('BEGIN')).toBe(0);
      const update = 'UPDATE users SET description = ? WHERE obj_id = ?';
      expect(await connection.execute(update, ['one', 1])).toBe(1);
      expect(await connection.execute(update, ['two', 2])).toBe(1);
      expect(await connection.execute('SAVEPOINT t')).toBe(0);
      expect(await connection.execute('RELEASE SAVEPOINT t')).toBe(0);
      const statements = await connection.query<{ name: string; statement: string }>(
        "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'usrun_%'",
      );
      expect(statements).toHaveLength(1);
      expect(statements[0]?.statement).toBe('UPDATE users SET description = $1 WHERE obj_id = $2');
      expect(
        await connection.query<{ description: string }>(
          'SELECT description FROM users WHERE obj_id IN (?, ?) ORDER BY obj_id',
          [1, 2],
        ),
      ).toEqual([{ description: 'one' }, { description: 'two' }]);
      await connection.execute('ROLLBACK');
    }),
  );
});
