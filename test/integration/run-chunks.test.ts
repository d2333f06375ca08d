import { afterAll, describe, expect, it } from 'vitest';
import {
  addWorker,
  chunksOfStartingRun,
  claimChunk,
  createChunks,
  holdStatements,
  releaseGoneWorkers,
  renewLeases,
  type WorkerIdentity,
} from '../../src/journal/run-chunks.js';
import { startRun } from '../../src/journal/run-record.js';
import { emptyCounts, type ItemResult } from '../../src/model/item-result.js';
import { ChunkFeed } from '../../src/run/chunk-feed.js';
import { RunControl } from '../../src/run/run-control.js';
import { planChunks } from '../../src/select/pick-items.js';
import type { StoreDriver } from '../../src/store/driver.js';
import { StaleRowError, writeAll } from '../../src/store/writer.js';
import { dbQuery, withDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';

/**
 * The chunks of a shared run on the real databases: claims with FOR UPDATE SKIP LOCKED, leases
 * on an injected clock (a dead worker's chunk is taken over once its lease is past — no waiting
 * on the wall clock), the proof a group commits with, and a worker's rounds and waits.
 */

afterAll(dropTestDbs);

const T0 = Date.parse('2026-12-01T12:00:00.000Z');
const LEASE = 30_000;
const worker = (name: string): WorkerIdentity => ({ worker: name, host: 'test', pid: 1, leaseMs: LEASE });
const RANGES = [
  { first: 1, last: 10 },
  { first: 11, last: 20 },
  { first: 21, last: 30 },
  { first: 31, last: 40 },
];

async function newRun(db: string): Promise<number> {
  return withDb(db, (store) =>
    startRun(
      store,
      { kind: 'run', scriptPath: 's.js', scriptText: '', selection: { all: true }, params: {} },
      emptyCounts(),
    ),
  );
}

/**
 * The feed of worker `me` joining run `runId` on an injected clock (starting at T0 + 1 s) that
 * each `sleep` moves on by what it was asked to wait.
 */
function joiningFeed(store: StoreDriver, runId: number, sleep: (ms: number) => Promise<void>): ChunkFeed {
  const me = worker('me');
  let clock = T0 + 1000;
  let joined: Promise<number> | undefined;
  return new ChunkFeed({
    store,
    selection: { all: true },
    me,
    first: null,
    begin: () => (joined ??= addWorker(store, runId, me, clock).then(() => runId)),
    begun: () => joined !== undefined,
    control: new RunControl(),
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
      await sleep(ms);
    },
  });
}

describe.each(DIALECTS)('%s', (dialect) => {
  if (dialect === 'sqlite') {
    it('has no SKIP LOCKED: a run is not split, and claiming is refused', async () => {
      const db = await testStore(dialect, { demo: 5 });
      await withDb(db, async (store) => {
        expect(store.capabilities.skipLockedSql).toBeNull();
        await expect(claimChunk(store, 1, worker('a'), T0)).rejects.toThrow(TypeError);
      });
    });
    return;
  }

  it('claims each chunk once; a dead worker’s chunk is taken over when its lease is past, its done items skipped', async () => {
    const db = await testStore(dialect, { demo: 40 });
    const runId = await newRun(db);
    const a = worker('a');
    const b = worker('b');
    await withDb(db, async (store) => {
      await createChunks(store, runId, RANGES, a, T0);
      await addWorker(store, runId, b, T0);
      const claims = [];
      for (let i = 0; i < 4; i++) claims.push(await claimChunk(store, runId, b, T0 + 1000));
      expect(claims.map((c) => (c && 'chunk' in c ? c.chunk : c))).toEqual([
        1,
        2,
        3,
        { wait: true, leaseUntil: T0 + LEASE },
      ]);
      // A committed item 3 of its chunk, then died.
      await store.withConnection((c) =>
        c.execute(
          "INSERT INTO run_items (run_id, seq, user_id, username, status, finished_at) VALUES (?, 3, 3, 'x', 'changed', ?)",
          [runId, new Date(T0).toISOString()],
        ),
      );
      // Still A's a millisecond before its lease ends; B's the moment after.
      expect(await claimChunk(store, runId, b, T0 + LEASE - 1)).toMatchObject({ wait: true });
      const taken = await claimChunk(store, runId, b, T0 + LEASE + 1);
      expect(taken).toMatchObject({ chunk: 0, first: 1, last: 10 });
      expect([...(taken as { done: Set<number> }).done]).toEqual([3]);
      // A's next group cannot commit: its proof that chunk 0 is its own fails.
      await expect(writeAll(store, holdStatements(runId, a, [0], 1, T0 + LEASE + 2))).rejects.toThrow(
        StaleRowError,
      );
      await writeAll(store, holdStatements(runId, b, [0, 1], 2, T0 + LEASE + 2));
      expect(await claimChunk(store, runId, b, T0 + LEASE + 3)).toMatchObject({ wait: true });
    });
  });

  it('a gone worker is marked gone with its chunks released, and keeps its own last-seen time', async () => {
    const db = await testStore(dialect, { demo: 40 });
    const runId = await newRun(db);
    const iso = (ms: number) => new Date(ms).toISOString();
    await withDb(db, async (store) => {
      await createChunks(store, runId, RANGES, worker('dead'), T0);
      await renewLeases(store, runId, worker('dead'), T0 + 5000);
      // Found silent past its lease by a worker joining much later.
      await releaseGoneWorkers(store, runId, T0 + 5000 + LEASE + 60_000);
    });
    expect(
      await dbQuery(db, 'SELECT status, last_seen FROM run_workers WHERE run_id = ? AND worker = ?', [
        runId,
        'dead',
      ]),
    ).toEqual([{ status: 'gone', last_seen: iso(T0 + 5000) }]);
    expect(
      await dbQuery(db, 'SELECT status, worker FROM run_chunks WHERE run_id = ? AND chunk = 0', [runId]),
    ).toEqual([{ status: 'pending', worker: null }]);
  });

  it('workers claiming at the same moment never get the same chunk', async () => {
    const db = await testStore(dialect, { demo: 5 });
    const runId = await newRun(db);
    await withDb(db, async (store) => {
      const many = Array.from({ length: 8 }, (_, i) => ({ first: i * 10, last: i * 10 + 9 }));
      await createChunks(store, runId, many, worker('w0'), T0);
      const workers = Array.from({ length: 7 }, (_, i) => worker(`w${i + 1}`));
      for (const w of workers) await addWorker(store, runId, w, T0);
      const claims = await Promise.all(workers.map((w) => claimChunk(store, runId, w, T0)));
      const chunks = claims.map((c) => (c && 'chunk' in c ? c.chunk : null));
      // SKIP LOCKED passes over a chunk being claimed: some may find nothing free this instant.
      const got = chunks.filter((c): c is number => c !== null);
      expect(new Set(got).size).toBe(got.length);
      expect(got.every((c) => c >= 1)).toBe(true);
    });
  });

  it('a worker joining a run between its row and its chunks waits for the chunks (up to 2 s)', async () => {
    const db = await testStore(dialect, { demo: 40 });
    const runId = await newRun(db);
    await withDb(db, async (store) => {
      const sleeps: number[] = [];
      // The creator writes the chunks while the joiner sleeps for the first time.
      const found = await chunksOfStartingRun(store, runId, async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 1) await createChunks(store, runId, RANGES, worker('creator'), T0);
      });
      expect(found).toBe(RANGES.length);
      expect(sleeps).toEqual([50]);
      // A run that never gets chunks: 0 after two seconds of (injected) waiting.
      const other = await newRun(db);
      let waited = 0;
      expect(await chunksOfStartingRun(store, other, async (ms) => void (waited += ms))).toBe(0);
      expect(waited).toBe(2000);
    });
  });

  it('a waiting worker sees within a fifth of a second that another worker finished the last chunk', async () => {
    const db = await testStore(dialect, { demo: 40 });
    const runId = await newRun(db);
    await withDb(db, async (store) => {
      const other = worker('other');
      await createChunks(store, runId, RANGES, other, T0);
      // The other worker holds every chunk, its lease far off.
      await store.withConnection((c) =>
        c.execute(
          "UPDATE run_chunks SET status = 'claimed', worker = 'other', lease_until = ? WHERE run_id = ?",
          [new Date(T0 + LEASE).toISOString(), runId],
        ),
      );
      const sleeps: number[] = [];
      const feed = joiningFeed(store, runId, async (ms) => {
        sleeps.push(ms);
        // The other worker, alive (its lease far off), finishes every chunk meanwhile.
        if (sleeps.length === 1) {
          await store.withConnection((c) =>
            c.execute("UPDATE run_chunks SET status = 'done', lease_until = NULL WHERE run_id = ?", [runId]),
          );
        }
      });
      for await (const page of feed.round()) expect(page).toEqual([]);
      expect(await feed.waitForWork()).toBe(false);
      expect(sleeps).toHaveLength(1);
      expect(sleeps[0]).toBeLessThanOrEqual(200);
      await feed.finish('completed');
    });
  });

  it('a chunk whose done-mark fails (say the connection is gone) does not end the process: the error comes at the next wait', async () => {
    const db = await testStore(dialect, { demo: 40 });
    const runId = await newRun(db);
    await withDb(db, async (store) => {
      await createChunks(store, runId, RANGES, worker('other'), T0);
      const feed = joiningFeed(store, runId, async () => undefined);
      const seqs: number[] = [];
      for await (const page of feed.round()) for (const item of page) seqs.push(item.seq);
      expect(seqs.length).toBeGreaterThan(0);
      // Marking its chunks done now fails.
      await store.withConnection((c) => c.execute('ALTER TABLE run_workers RENAME TO run_workers_gone'));
      const unhandled: unknown[] = [];
      const notice = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', notice);
      try {
        for (const seq of seqs) feed.committed({ seq } as ItemResult);
        // Time for an unhandled rejection to be noticed.
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(unhandled).toEqual([]);
        await expect(feed.waitForWork()).rejects.toThrow();
      } finally {
        process.off('unhandledRejection', notice);
        await store.withConnection((c) => c.execute('ALTER TABLE run_workers_gone RENAME TO run_workers'));
      }
    });
  });

  it('a worker waits on the injected clock for a held chunk, takes it over, and completes the run', async () => {
    const db = await testStore(dialect, { demo: 40 });
    const runId = await newRun(db);
    await withDb(db, async (store) => {
      expect(await planChunks(store, { all: true }, 10)).toEqual(RANGES);
      await createChunks(store, runId, RANGES, worker('dead'), T0);
      await store.withConnection((c) =>
        c.execute(
          "INSERT INTO run_items (run_id, seq, user_id, username, status, finished_at) VALUES (?, 3, 3, 'x', 'changed', ?)",
          [runId, new Date(T0).toISOString()],
        ),
      );
      let slept = 0;
      const feed = joiningFeed(store, runId, async (ms) => void (slept += ms));
      const round = async () => {
        const seqs: number[] = [];
        for await (const page of feed.round()) {
          for (const item of page) seqs.push(item.seq);
        }
        for (const seq of seqs) feed.committed({ seq } as ItemResult);
        return seqs;
      };
      const first = await round();
      expect(first).toEqual(Array.from({ length: 30 }, (_, i) => i + 11));
      expect(await feed.waitForWork()).toBe(true);
      // It slept (on the injected clock) until the dead worker's lease was past.
      expect(T0 + 1000 + slept).toBeGreaterThan(T0 + LEASE);
      expect(slept).toBeLessThan(LEASE + 2000);
      const second = await round();
      expect(second).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10]);
      expect(await feed.waitForWork()).toBe(false);
      expect(await feed.finish('completed')).toMatchObject({ status: 'completed' });
    });
    expect(await dbQuery(db, 'SELECT status FROM runs WHERE id = ?', [runId])).toEqual([
      { status: 'completed' },
    ]);
    expect(
      await dbQuery(db, "SELECT chunk FROM run_chunks WHERE run_id = ? AND worker = 'me' ORDER BY chunk", [
        runId,
      ]),
    ).toEqual([{ chunk: 0 }, { chunk: 1 }, { chunk: 2 }, { chunk: 3 }]);
    expect(await dbQuery(db, "SELECT chunks, status FROM run_workers WHERE worker = 'me'")).toEqual([
      { chunks: 4, status: 'finished' },
    ]);
  });
});
