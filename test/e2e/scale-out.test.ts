import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { collectOutput, tempDir, USRUN } from '../helpers/cli.js';
import { dataInAnyCommitOrder, dbCount, dbQuery, dumpDb } from '../helpers/db.js';
import { dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { writeFile } from '../helpers/run-fixtures.js';

/**
 * Scale-out (`usrun run --join`): one run on a server database shared by two workers, one of them
 * a real bin/usrun killed with SIGKILL half-way; the other takes over its chunks once their lease
 * ran out and completes the run, with the same data as a run nobody interrupted.
 */

const USERS = 120;
const LONG = 240_000;
/** Demo users depend on the time they were made: both databases get the same. */
const SEEDED = new Date('2026-12-01T00:00:00.000Z');
const SCRIPT = `// several changes per user, all or nothing; with --param slow=1, about 40 ms per user
const t = Date.now();
while (params.slow && Date.now() - t < 40) {}
user.description = 'batch ' + user.obj_id;
user.last_update = '2030-01-01T00:00:00.000Z';
user.attribute_add('Session-Timeout', 1000 + user.obj_id, ':=');
user.profile_add('silver');
user.attr.set('batch', { id: user.obj_id });
`;

const tmp = tempDir('usrun-scale-out-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

const data = dataInAnyCommitOrder;
const count = dbCount;

async function until(what: string, check: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(['postgres', 'mysql'] as const)('%s: one run, two workers', (dialect) => {
  it(
    'a worker killed with SIGKILL leaves its chunks to the other once its lease runs out; the data is that of an uninterrupted run',
    async () => {
      const script = writeFile(tmp.dir, `script-${dialect}.js`, SCRIPT);
      const reference = await testStore(dialect, { demo: USERS, now: SEEDED });
      const db = await testStore(dialect, { demo: USERS, now: SEEDED });
      const plain = await usrun(['run', script, '--db', reference, '--all', '--yes']);
      expect(plain.code, plain.stderr).toBe(0);

      // Worker A: the real CLI, which starts the run (12 chunks of 10 users), with a 2 s lease.
      const a = spawn(
        USRUN,
        [
          'run',
          script,
          '--db',
          db,
          '--all',
          '--yes',
          '--param',
          'slow=1',
          '--chunk-size',
          '10',
          '--lease',
          '2',
        ],
        { env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      a.stdin.end();
      const aEnded = collectOutput(a, 180_000);
      await until(
        'worker A to commit',
        async () => (await count(db, 'SELECT count(*) AS n FROM run_items')) >= 15,
      );
      expect(await count(db, 'SELECT count(*) AS n FROM run_chunks WHERE run_id = 1')).toBe(12);

      // Worker B: joins in this process.
      const b = usrun(['run', '--join', '1', '--db', db, '--lease', '2']);
      await until(
        'worker B to commit',
        async () =>
          (await count(db, 'SELECT items AS n FROM run_workers WHERE run_id = 1 AND pid = ?', [
            process.pid,
          ])) > 0,
      );
      const [aWorker] = await dbQuery<{ worker: string }>(
        db,
        'SELECT worker FROM run_workers WHERE pid = ?',
        [a.pid!],
      );
      await until(
        'worker A to hold a chunk',
        async () =>
          (await count(db, "SELECT count(*) AS n FROM run_chunks WHERE worker = ? AND status = 'claimed'", [
            aWorker!.worker,
          ])) > 0,
      );
      a.kill('SIGKILL');
      expect((await aEnded).signal).toBe('SIGKILL');
      const held = (
        await dbQuery<{ chunk: number }>(
          db,
          "SELECT chunk FROM run_chunks WHERE worker = ? AND status = 'claimed' ORDER BY chunk",
          [aWorker!.worker],
        )
      ).map((r) => Number(r.chunk));
      expect(held.length).toBeGreaterThan(0);
      expect(await count(db, 'SELECT count(*) AS n FROM run_items')).toBeLessThan(USERS);

      const joined = await b;
      expect(joined.stderr).toBe('');
      expect(joined.code).toBe(0);
      expect(joined.stdout).toContain(`run 1 completed: ${USERS} selected, ${USERS} changed`);

      // B took over what A held; every chunk is done, every user journaled once, the run completed.
      const [bWorker] = await dbQuery<{ worker: string }>(
        db,
        'SELECT worker FROM run_workers WHERE pid = ?',
        [process.pid],
      );
      for (const chunk of held) {
        expect(
          await dbQuery(db, 'SELECT status, worker FROM run_chunks WHERE run_id = 1 AND chunk = ?', [chunk]),
        ).toEqual([{ status: 'done', worker: bWorker!.worker }]);
      }
      expect(await count(db, "SELECT count(*) AS n FROM run_chunks WHERE status <> 'done'")).toBe(0);
      expect(await count(db, "SELECT count(*) AS n FROM run_items WHERE status = 'changed'")).toBe(USERS);
      expect(await dbQuery(db, 'SELECT status FROM runs WHERE id = 1')).toEqual([{ status: 'completed' }]);
      expect(await data(db)).toEqual(await data(reference));

      // runs show lists both workers: the dead one as gone, with what each did.
      const shown = await usrun(['runs', 'show', '1', '--db', db]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(
        /workers:\n\s+HOST\s+PID\s+CHUNKS DONE\s+ITEMS\s+LAST SEEN \(UTC\)\s+WORKER\n/,
      );
      expect(shown.stdout).toMatch(new RegExp(`\\s${a.pid}\\s+\\d+\\s+\\d+\\s+\\S+ \\S+\\s+gone`));
      expect(shown.stdout).toMatch(new RegExp(`\\s${process.pid}\\s+\\d+\\s+\\d+\\s+\\S+ \\S+\\s+finished`));
      const workers = await dbQuery<{ items: number }>(db, 'SELECT items FROM run_workers WHERE run_id = 1');
      expect(workers).toHaveLength(2);
      const json = await usrun(['runs', 'show', '1', '--db', db, '--json']);
      const run = JSON.parse(json.stdout.split('\n')[0]!) as { run: { workers: { pid: number }[] } };
      expect(run.run.workers.map((w) => w.pid).sort()).toEqual([a.pid, process.pid].sort());
    },
    LONG,
  );

  it(
    'Ctrl-C on one of two workers: it leaves (exit 3) saying the run goes on, with no resume hint; the other completes the run',
    async () => {
      const db = await testStore(dialect, { demo: USERS, now: SEEDED });
      const script = writeFile(tmp.dir, `leave-${dialect}.js`, SCRIPT);
      const start = (args: string[]) => {
        const child = spawn(USRUN, args, {
          env: { ...process.env, NO_COLOR: '1' },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        child.stdin.end();
        return child;
      };
      const first = collectOutput(
        start(['run', script, '--db', db, '--all', '--yes', '--param', 'slow=1', '--chunk-size', '5']),
        LONG,
      );
      await until(
        'run 1 to be split into chunks',
        async () => (await count(db, 'SELECT count(*) AS n FROM run_chunks WHERE run_id = 1')) > 0,
      );
      const second = start(['run', '--join', '1', '--db', db]);
      const leaving = collectOutput(second, LONG);
      await until(
        'both workers to commit',
        async () =>
          (await count(db, 'SELECT count(*) AS n FROM run_workers WHERE run_id = 1 AND items > 0')) >= 2,
      );
      second.kill('SIGINT');
      const left = await leaving;
      expect(left.code).toBe(3);
      expect(left.stderr).toContain('usrun: this worker left run 1; other workers are still at it\n');
      expect(left.stderr).not.toContain('continue it with');
      expect(left.stdout).toMatch(/^run 1 running: \d+ selected/m);
      const done = await first;
      expect(done.stderr).toBe('');
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(new RegExp(`^run 1 completed: ${USERS} selected, ${USERS} changed`, 'm'));
      expect(await count(db, "SELECT count(*) AS n FROM users WHERE description LIKE 'batch %'")).toBe(USERS);
    },
    LONG,
  );

  it(
    'a shared run stopped by --max-errors resumes with --resume, chunk by chunk, to completed',
    async () => {
      const db = await testStore(dialect, { demo: 40 });
      const script = writeFile(
        tmp.dir,
        `flaky-${dialect}.js`,
        "if (user.obj_id === 13) throw new Error('not this one');\nuser.description = 'done';\n",
      );
      const first = await usrun([
        'run',
        script,
        '--all',
        '--db',
        db,
        '--chunk-size',
        '5',
        '--max-errors',
        '1',
      ]);
      expect(first.code).toBe(1);
      expect(first.stdout).toMatch(/^run 1 stopped: /m);
      expect(await count(db, 'SELECT count(*) AS n FROM run_chunks WHERE run_id = 1')).toBe(8);
      expect(await count(db, 'SELECT count(*) AS n FROM run_items')).toBeLessThan(40);
      // Nothing left claimed by the worker that stopped: the chunks are free for anyone.
      expect(await count(db, "SELECT count(*) AS n FROM run_chunks WHERE status = 'claimed'")).toBe(0);

      const resumed = await usrun(['run', '--resume', '1', '--db', db]);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(1);
      expect(resumed.stdout).toMatch(/^run 1 completed: 40 selected, 39 changed, .* 1 failed/m);
      expect(await count(db, "SELECT count(*) AS n FROM users WHERE description = 'done'")).toBe(39);
      expect(await count(db, 'SELECT count(*) AS n FROM run_items')).toBe(40);
      expect(await count(db, "SELECT count(*) AS n FROM run_chunks WHERE status <> 'done'")).toBe(0);

      const again = await usrun(['run', '--join', '1', '--db', db]);
      expect(again.code).toBe(2);
      expect(again.stderr).toBe('usrun: run 1 already completed: nothing to join\n');
    },
    LONG,
  );
});

describe('sqlite: --join is refused', () => {
  it('says why, exit 2, nothing written', async () => {
    const db = await testStore('sqlite', { demo: 5 });
    const script = writeFile(tmp.dir, 'plain.js', "user.description = 'x';\n");
    const run = await usrun(['run', script, '--all', '--db', db]);
    expect(run.code).toBe(0);
    // A SQLite run is not split into chunks.
    expect(await count(db, 'SELECT count(*) AS n FROM run_chunks')).toBe(0);
    const before = await dumpDb(db);
    const r = await usrun(['run', '--join', '1', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'usrun: --join: a run is shared between workers on a PostgreSQL or MariaDB/MySQL database only: workers claim its chunks with SELECT … FOR UPDATE SKIP LOCKED, which SQLite does not have (and a SQLite file takes one writer at a time, so a second process would only wait)\n',
    );
    expect(await dumpDb(db)).toEqual(before);
  });
});
