import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectOutput, runCli, tempDir, USRUN } from '../helpers/cli.js';
import { closeCachedStores, dataInAnyCommitOrder, dbCount, dbQuery } from '../helpers/db.js';
import { dropTestDbs, MYSQL_ADMIN, SERVERS, testDbUrl, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { writeFile } from '../helpers/run-fixtures.js';

/**
 * The real CLI (bin/usrun) against the server databases: a run, its undo, and a run killed
 * with SIGKILL half-way and finished with `--resume` (SPEC §2, §5). And what an admin sees when
 * the server is down, refuses the login, or has no such database: one clear line, exit 2.
 */

const USERS = 120;
/** Several CLI runs over the users, one slowed down on purpose: longer than vitest's default. */
const LONG = 180_000;
const SCRIPT = `// every user gets several changes, all or nothing; with --param slow=1, slow after the first users
const t = Date.now();
while (params.slow && Date.now() - t < (user.obj_id > 20 ? 25 : 0)) {}
user.description = 'batch ' + user.obj_id;
user.last_update = '2030-01-01T00:00:00.000Z';
user.attribute_add('Session-Timeout', 1000 + user.obj_id, ':=');
user.profile_add('silver');
user.attr.set('batch', { id: user.obj_id });
`;

const tmp = tempDir('usrun-servers-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

const data = dataInAnyCommitOrder;
const count = dbCount;

describe.each(['postgres', 'mysql'] as const)('%s through bin/usrun', (dialect) => {
  let db: string;
  let script: string;
  beforeAll(async () => {
    db = await testStore(dialect, { demo: USERS });
    script = writeFile(tmp.dir, `script-${dialect}.js`, SCRIPT);
  });

  it(
    'runs a script, undoes it, and resumes a run killed with SIGKILL',
    async () => {
      const before = await data(db);

      // One lane: the reply rows' ids then follow obj_id, so the dumps of two runs compare equal.
      const run = await runCli(['run', script, '--db', db, '--all', '--yes', '--concurrency', '1'], {
        timeoutMs: 120_000,
      });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`run 1 completed: ${USERS} selected, ${USERS} changed`);
      const done = await data(db);
      expect(await count(db, "SELECT count(*) AS n FROM users WHERE description LIKE 'batch %'")).toBe(USERS);

      const undo = await runCli(['runs', 'undo', '1', '--db', db, '--yes'], { timeoutMs: 120_000 });
      expect(undo.code).toBe(0);
      expect(await data(db)).toEqual(before);

      // Killed half-way: what was committed stays, all or nothing per user; --resume does the rest.
      const child = spawn(
        USRUN,
        ['run', script, '--db', db, '--all', '--yes', '--param', 'slow=1', '--concurrency', '1'],
        {
          env: { ...process.env, NO_COLOR: '1' },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      child.stdin.end();
      const ended = collectOutput(child, 120_000);
      const committed = () =>
        count(db, "SELECT count(*) AS n FROM run_items WHERE run_id = 3 AND status = 'changed'").catch(
          () => 0,
        );
      const deadline = Date.now() + 60_000;
      while ((await committed()) < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGKILL');
      const killed = await ended;
      expect(killed.signal).toBe('SIGKILL');
      const partial = await committed();
      expect(partial).toBeGreaterThanOrEqual(25);
      expect(partial).toBeLessThan(USERS);
      expect(await count(db, "SELECT count(*) AS n FROM users WHERE description LIKE 'batch %'")).toBe(
        partial,
      );

      const resumed = await runCli(['run', '--resume', '3', '--db', db, '--yes'], { timeoutMs: 120_000 });
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toContain('run 3 completed');
      expect(
        await count(db, "SELECT count(*) AS n FROM run_items WHERE run_id = 3 AND status = 'changed'"),
      ).toBe(USERS);
      expect(await data(db)).toEqual(done);
    },
    LONG,
  );
});

/** Cuts every connection of usrun to a test database, as a server restart or a network cut would. */
const CUT: Record<'postgres' | 'mysql', (db: string) => Promise<void>> = {
  postgres: async (db) => {
    await dbQuery(
      SERVERS.postgres,
      "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = ? AND application_name = 'usrun'",
      [new URL(db).pathname.slice(1)],
    );
  },
  mysql: async (db) => {
    const ids = await dbQuery<{ id: number }>(
      MYSQL_ADMIN,
      'SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()',
      [new URL(db).pathname.slice(1)],
    );
    for (const { id } of ids)
      await dbQuery(MYSQL_ADMIN, `KILL CONNECTION ${Number(id)}`).catch(() => undefined);
  },
};

describe.each(['postgres', 'mysql'] as const)('%s: the connection lost in the middle of a run', (dialect) => {
  it(
    'stops the run with a clear message and exit 3; what was committed stays; --resume finishes it',
    async () => {
      const db = await testStore(dialect, { demo: USERS });
      const script = writeFile(tmp.dir, `lost-${dialect}.js`, SCRIPT);
      const child = spawn(USRUN, ['run', script, '--db', db, '--all', '--yes', '--param', 'slow=1'], {
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin.end();
      const ended = collectOutput(child, 120_000);
      const committed = () =>
        count(db, "SELECT count(*) AS n FROM run_items WHERE status = 'changed'").catch(() => 0);
      const deadline = Date.now() + 60_000;
      while ((await committed()) < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await CUT[dialect](db);
      await closeCachedStores();
      const cut = await ended;
      expect(cut.code, cut.stderr + cut.stdout).toBe(3);
      expect(cut.stderr).toContain(`usrun: lost the connection to ${db}`);
      expect(cut.stderr).toContain(`finish the run with: usrun run --resume 1 --db ${db}`);
      // The run stopped at the loss: no user after it was tried on the dead connection and failed.
      expect(cut.stdout).not.toContain('✗ failed');
      const partial = await committed();
      expect(partial).toBeGreaterThanOrEqual(25);
      expect(partial).toBeLessThan(USERS);
      // All or nothing per user: exactly the journaled users carry the script's changes.
      expect(await count(db, "SELECT count(*) AS n FROM users WHERE description LIKE 'batch %'")).toBe(
        partial,
      );

      const resumed = await runCli(['run', '--resume', '1', '--db', db, '--yes'], { timeoutMs: 120_000 });
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(await count(db, "SELECT count(*) AS n FROM users WHERE description LIKE 'batch %'")).toBe(USERS);
    },
    LONG,
  );
});

describe('a server that cannot be used: one clear line naming the URL without password, exit 2', () => {
  const cases: [name: string, location: () => Promise<string>, message: RegExp][] = [
    [
      'postgres: server down',
      async () => 'postgres://postgres:s3cret@127.0.0.1:1/usrun',
      /cannot reach the database server of postgres:\/\/postgres@127\.0\.0\.1:1\/usrun .*is the server running/,
    ],
    [
      'mysql: server down',
      async () => 'mysql://root:s3cret@127.0.0.1:1/usrun',
      /cannot reach the database server of mysql:\/\/root@127\.0\.0\.1:1\/usrun .*is the server running/,
    ],
    [
      'postgres: login refused',
      async () =>
        new URL('/postgres', SERVERS.postgres.replace('//postgres@', '//no_such_role:s3cret@')).toString(),
      /the database server refused the login for postgres:\/\/no_such_role@127\.0\.0\.1:5432\/postgres .*check the user name and the password/,
    ],
    [
      'mysql: wrong password',
      async () => new URL('/usrun', SERVERS.mysql.replace('//root@', '//root:s3cret@')).toString(),
      /the database server refused the login for mysql:\/\/root@127\.0\.0\.1:3306\/usrun .*check the user name and the password/,
    ],
    [
      'postgres: no such database',
      async () => new URL('/usrun_no_such_db', SERVERS.postgres).toString(),
      /the database of postgres:\/\/postgres@127\.0\.0\.1:5432\/usrun_no_such_db does not exist on the server .*CREATE DATABASE/,
    ],
    [
      'mysql: no such database',
      async () => new URL('/usrun_no_such_db', SERVERS.mysql).toString(),
      /the database of mysql:\/\/root@127\.0\.0\.1:3306\/usrun_no_such_db does not exist on the server .*CREATE DATABASE/,
    ],
    [
      'a URL of a kind usrun does not know is not taken for a SQLite file name',
      async () => 'mysqlx://root:s3cret@127.0.0.1/usrun',
      /usrun does not know database URLs of the kind mysqlx:\/\/ \(mysqlx:\/\/root@127\.0\.0\.1\/usrun\): give postgres:\/\//,
    ],
    [
      'mysql: a password with an unencoded "/" and "#"',
      async () => 'mysql://root:s3cret/#x@127.0.0.1:3306/usrun',
      /not a valid database URL: mysql:\/\/root@127\.0\.0\.1:3306\/usrun \(.*must be percent-encoded/,
    ],
    [
      'postgres: a port that is not a number',
      async () => 'postgres://postgres:s3cret@127.0.0.1:5432x/usrun',
      /not a valid database URL: postgres:\/\/postgres@127\.0\.0\.1:5432x\/usrun \(/,
    ],
    [
      'mysql: no database in the URL',
      async () => 'mysql://root:s3cret@127.0.0.1:3306',
      /the database URL mysql:\/\/root@127\.0\.0\.1:3306 names no database: add it after the host, as in mysql:\/\/root@127\.0\.0\.1:3306\/radius$/m,
    ],
  ];

  it.each(cases)('%s', async (_, location, message) => {
    const url = await location();
    for (const args of [
      ['users', 'list', '--db', url],
      ['init', '--db', url],
    ]) {
      const r = await usrun(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('s3cret');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it.each(['postgres', 'mysql'] as const)(
    '%s: a server that closes the connection as it is made (a firewall, pg_hba.conf, a proxy)',
    async (dialect) => {
      // A real TCP peer that accepts and hangs up at once.
      const server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      try {
        const url = `${dialect}://someone:s3cret@127.0.0.1:${port}/usrun`;
        const r = await usrun(['users', 'list', '--db', url]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(
          new RegExp(
            `^usrun: the connection to ${dialect}://someone@127\\.0\\.0\\.1:${port}/usrun was closed as it was being made \\(.*\\): is the server running and does it accept connections from this host`,
          ),
        );
        expect(r.stderr).not.toContain('s3cret');
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      } finally {
        server.close();
      }
    },
  );

  it.each(['postgres', 'mysql'] as const)(
    '%s: an empty database is not a usrun database until init',
    async (dialect) => {
      const url = await testDbUrl(dialect);
      const r = await usrun(['users', 'list', '--db', url]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('is not a usrun database yet: run `usrun init --db');
      expect(
        await dbQuery(
          url,
          dialect === 'postgres'
            ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            : 'SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()',
        ),
      ).toEqual([]);
    },
  );
});

/** A run's `runs.counts`, as `runs list` and `runs show` print them. */
async function journaledCounts(db: string, runId: number): Promise<Record<string, number>> {
  const [row] = await dbQuery<{ counts: string }>(db, 'SELECT counts FROM runs WHERE id = ?', [runId]);
  return JSON.parse(String(row?.counts)) as Record<string, number>;
}

/** A run's counts as its items in `run_items` make them. */
async function itemCounts(db: string, runId: number): Promise<Record<string, number>> {
  const rows = await dbQuery<{ status: string; n: number }>(
    db,
    'SELECT status, count(*) AS n FROM run_items WHERE run_id = ? GROUP BY status',
    [runId],
  );
  const counts: Record<string, number> = {
    selected: 0,
    changed: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    not_found: 0,
  };
  for (const { status, n } of rows) {
    counts[status] = Number(n);
    counts['selected'] = (counts['selected'] ?? 0) + Number(n);
  }
  return counts;
}

/** Makes every write to a user's row take a while, so a test can cut the connection half-way. */
const SLOW_USERS: Record<'postgres' | 'mysql', string[]> = {
  postgres: [
    `CREATE FUNCTION usrun_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.03); RETURN NEW; END $$`,
    'CREATE TRIGGER usrun_test_slow BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION usrun_test_slow()',
  ],
  mysql: [
    'CREATE TRIGGER usrun_test_slow BEFORE UPDATE ON users FOR EACH ROW SET @usrun_test_slow = SLEEP(0.03)',
  ],
};

describe.each(['postgres', 'mysql'] as const)(
  '%s: the connection lost in the middle of an undo',
  (dialect) => {
    it(
      'stops with a clear message and exit 3; undone users stay undone, all or nothing; running the undo again finishes it',
      async () => {
        const db = await testStore(dialect, { demo: USERS });
        const script = writeFile(tmp.dir, `undo-lost-${dialect}.js`, SCRIPT);
        const before = await data(db);
        const run = await usrun(['run', script, '--db', db, '--all', '--yes']);
        expect(run.code, run.stderr).toBe(0);
        for (const statement of SLOW_USERS[dialect]) await dbQuery(db, statement);

        const undo = usrun(['runs', 'undo', '1', '--db', db, '--yes']);
        const undone = () =>
          count(db, "SELECT count(*) AS n FROM run_items WHERE run_id = 2 AND status = 'changed'").catch(
            () => 0,
          );
        const deadline = Date.now() + 60_000;
        while ((await undone()) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await CUT[dialect](db);
        await closeCachedStores();
        const cut = await undo;
        expect(cut.code).toBe(3);
        expect(cut.stderr).toContain(`usrun: lost the connection to ${db}`);
        expect(cut.stderr).toContain(
          `usrun: what was committed stays; once the server is back, finish the undo by running it again: usrun runs undo 1 --db ${db}`,
        );
        expect(cut.stderr).not.toContain('unexpected error');
        const partial = await undone();
        expect(partial).toBeGreaterThanOrEqual(10);
        expect(partial).toBeLessThan(USERS);
        // All or nothing per user: exactly the users the undo journaled are back as they were.
        expect(await count(db, "SELECT count(*) AS n FROM users WHERE description LIKE 'batch %'")).toBe(
          USERS - partial,
        );
        expect(await dbQuery(db, 'SELECT status FROM runs WHERE id = 2')).toEqual([
          { status: 'interrupted' },
        ]);
        // The interrupted undo's counts are what its journal holds, not what it had applied.
        expect(await journaledCounts(db, 2)).toEqual(await itemCounts(db, 2));
        expect((await journaledCounts(db, 2)).changed).toBe(partial);

        const again = await usrun(['runs', 'undo', '1', '--db', db, '--yes']);
        expect(again.stderr).toBe('');
        expect(again.code).toBe(0);
        await dbQuery(db, 'DROP TRIGGER usrun_test_slow' + (dialect === 'postgres' ? ' ON users' : ''));
        expect(await data(db)).toEqual(before);
      },
      LONG,
    );
  },
);
