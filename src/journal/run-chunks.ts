import { hostname } from 'node:os';
import type { SeqRange } from '../model/seq-range.js';
import type { RunWorkersTable } from '../store/database.js';
import type { SqlStatement, StoreDriver } from '../store/driver.js';
import { usingWriter, writeAll } from '../store/writer.js';

/** A part of a run's selection: the items whose seq lies in `[first, last]`. */
export type ChunkRange = SeqRange;

/** A chunk this worker holds, and the seqs of it already journaled (by a worker before it). */
export interface ClaimedChunk extends ChunkRange {
  chunk: number;
  done: Set<number>;
}

/** Nothing to claim now: chunks held by others until `leaseUntil` (ms), or locked this instant. */
export interface ChunkWait {
  wait: true;
  leaseUntil: number | null;
}

/** One process working on a run, as `runs show` lists it. */
export type RunWorker = Omit<RunWorkersTable, 'run_id'>;

/** Who a worker is: an id unique to the process, and where it runs. */
export interface WorkerIdentity {
  worker: string;
  host: string;
  pid: number;
  /** How long its claims last without a renewal. */
  leaseMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const INSERT_ROWS = 200;

/**
 * The chunk rows of a new run, all in one transaction (a run has all its chunks or none), the
 * first one claimed by the starting worker, and that worker's row.
 */
export async function createChunks(
  store: StoreDriver,
  runId: number,
  ranges: readonly ChunkRange[],
  me: WorkerIdentity,
  now: number,
): Promise<void> {
  const statements: SqlStatement[] = [workerRow(runId, me, now)];
  for (let i = 0; i < ranges.length; i += INSERT_ROWS) {
    const part = ranges.slice(i, i + INSERT_ROWS);
    statements.push({
      sql: `INSERT INTO run_chunks (run_id, chunk, first_seq, last_seq, status, worker, lease_until, done_at) VALUES ${part
        .map(() => '(?, ?, ?, ?, ?, ?, ?, NULL)')
        .join(', ')}`,
      params: part.flatMap((r, j) => {
        const mine = i + j === 0;
        return [
          runId,
          i + j,
          r.first,
          r.last,
          mine ? 'claimed' : 'pending',
          mine ? me.worker : null,
          mine ? iso(now + me.leaseMs) : null,
        ];
      }),
    });
  }
  await writeAll(store, statements);
}

function workerRow(runId: number, me: WorkerIdentity, now: number): SqlStatement {
  return {
    sql: `INSERT INTO run_workers (run_id, worker, host, pid, lease_ms, started_at, last_seen, status, chunks, items)
          VALUES (?, ?, ?, ?, ?, ?, ?, 'running', 0, 0)`,
    params: [runId, me.worker, me.host, me.pid, me.leaseMs, iso(now), iso(now)],
  };
}

/** Adds a worker that joins a run. */
export async function addWorker(
  store: StoreDriver,
  runId: number,
  me: WorkerIdentity,
  now: number,
): Promise<void> {
  await writeAll(store, [workerRow(runId, me, now)]);
}

/** How many chunks a run was split into (0: it was not, and runs in one process). */
export async function chunkCount(store: StoreDriver, runId: number): Promise<number> {
  const [row] = await store.query<{ n: number }>('SELECT count(*) AS n FROM run_chunks WHERE run_id = ?', [
    runId,
  ]);
  return Number(row?.n ?? 0);
}

/**
 * The number of chunks of a run that is `running` in a live process: its creator writes the run's
 * row and then, a moment later, its chunks, so a worker joining in between finds none yet. Looks
 * again every 50 ms (`sleep`), for up to two seconds, before answering 0.
 */
export async function chunksOfStartingRun(
  store: StoreDriver,
  runId: number,
  sleep: (ms: number) => Promise<void>,
): Promise<number> {
  for (let waited = 0; ; waited += 50) {
    const n = await chunkCount(store, runId);
    if (n > 0 || waited >= 2000) return n;
    await sleep(50);
  }
}

/**
 * Claims the first chunk that is not done and that nobody holds: never claimed, released, or
 * whose holder's lease ran out before `now` (a dead worker). `SELECT … FOR UPDATE SKIP LOCKED`
 * passes over a chunk another worker is claiming this instant, so two workers never get the same
 * one. Returns null when every chunk is done, a `ChunkWait` when the rest are held by others.
 */
export async function claimChunk(
  store: StoreDriver,
  runId: number,
  me: WorkerIdentity,
  now: number,
): Promise<ClaimedChunk | ChunkWait | null> {
  const lock = store.capabilities.skipLockedSql;
  if (lock === null) throw new TypeError(`${store.dialect} cannot share a run between workers`);
  const claimed = await usingWriter(store, { rehearsal: false }, async (writer) => {
    await writer.unit([]);
    const [row] = await writer.query<{ chunk: number; first_seq: number; last_seq: number }>(
      `SELECT chunk, first_seq, last_seq FROM run_chunks
       WHERE run_id = ? AND status <> 'done' AND (lease_until IS NULL OR lease_until < ?)
       ORDER BY chunk LIMIT 1 ${lock}`,
      [runId, iso(now)],
    );
    if (row) {
      await writer.unit([
        {
          sql: `UPDATE run_chunks SET status = 'claimed', worker = ?, lease_until = ? WHERE run_id = ? AND chunk = ?`,
          params: [me.worker, iso(now + me.leaseMs), runId, row.chunk],
        },
        {
          sql: 'UPDATE run_workers SET last_seen = ? WHERE run_id = ? AND worker = ?',
          params: [iso(now), runId, me.worker],
        },
      ]);
    }
    await writer.commit();
    return row;
  });
  if (claimed) {
    const range = {
      chunk: Number(claimed.chunk),
      first: Number(claimed.first_seq),
      last: Number(claimed.last_seq),
    };
    return { ...range, done: await doneSeqsIn(store, runId, range) };
  }
  const [open] = await store.query<{ n: number; lease: string | null }>(
    `SELECT count(*) AS n, min(lease_until) AS lease FROM run_chunks WHERE run_id = ? AND status <> 'done'`,
    [runId],
  );
  if (Number(open?.n ?? 0) === 0) return null;
  return { wait: true, leaseUntil: open?.lease ? Date.parse(open.lease) : null };
}

/** The seqs of a chunk already journaled: a chunk taken over skips them, as a resume does. */
export async function doneSeqsIn(store: StoreDriver, runId: number, range: ChunkRange): Promise<Set<number>> {
  const rows = await store.query<{ seq: number }>(
    'SELECT seq FROM run_items WHERE run_id = ? AND seq >= ? AND seq <= ?',
    [runId, range.first, range.last],
  );
  return new Set(rows.map((r) => Number(r.seq)));
}

/**
 * The statements a worker's group commits with its items: the lease of each chunk the items
 * belong to is renewed, and must still be this worker's (one row each). If another worker took a
 * chunk over meanwhile, the group fails whole (the items are that worker's now).
 */
export function holdStatements(
  runId: number,
  me: WorkerIdentity,
  chunks: readonly number[],
  items: number,
  now: number,
): SqlStatement[] {
  return [
    {
      sql: `UPDATE run_chunks SET lease_until = ? WHERE run_id = ? AND worker = ? AND chunk IN (${chunks.map(() => '?').join(', ')})`,
      params: [iso(now + me.leaseMs), runId, me.worker, ...chunks],
      expectRows: chunks.length,
    },
    {
      sql: 'UPDATE run_workers SET items = items + ?, last_seen = ? WHERE run_id = ? AND worker = ?',
      params: [items, iso(now), runId, me.worker],
      expectRows: 1,
    },
  ];
}

/** Renews the leases of every chunk the worker holds (a live worker does this on a timer). */
export async function renewLeases(
  store: StoreDriver,
  runId: number,
  me: WorkerIdentity,
  now: number,
): Promise<void> {
  await writeAll(store, [
    {
      sql: `UPDATE run_chunks SET lease_until = ? WHERE run_id = ? AND worker = ? AND status = 'claimed'`,
      params: [iso(now + me.leaseMs), runId, me.worker],
    },
    {
      sql: 'UPDATE run_workers SET last_seen = ? WHERE run_id = ? AND worker = ?',
      params: [iso(now), runId, me.worker],
    },
  ]);
}

/** Marks a chunk done: every item of it is journaled. */
export async function chunkDone(
  store: StoreDriver,
  runId: number,
  chunk: number,
  me: WorkerIdentity,
  now: number,
): Promise<void> {
  await writeAll(store, [
    {
      sql: `UPDATE run_chunks SET status = 'done', done_at = ?, lease_until = NULL WHERE run_id = ? AND chunk = ? AND worker = ?`,
      params: [iso(now), runId, chunk, me.worker],
    },
    {
      sql: 'UPDATE run_workers SET chunks = chunks + 1, last_seen = ? WHERE run_id = ? AND worker = ?',
      params: [iso(now), runId, me.worker],
    },
  ]);
}

/**
 * A worker that stops: its unfinished chunks are released at once (anyone may take them), and
 * its row gets `status` and `lastSeen` (when it left: now, for a worker leaving itself).
 */
export async function leaveRun(
  store: StoreDriver,
  runId: number,
  me: WorkerIdentity,
  status: string,
  lastSeen: number,
): Promise<void> {
  await writeAll(store, [
    {
      sql: `UPDATE run_chunks SET status = 'pending', worker = NULL, lease_until = NULL
            WHERE run_id = ? AND worker = ? AND status = 'claimed'`,
      params: [runId, me.worker],
    },
    {
      sql: 'UPDATE run_workers SET status = ?, last_seen = ? WHERE run_id = ? AND worker = ?',
      params: [status, iso(lastSeen), runId, me.worker],
    },
  ]);
}

/** A run's workers, in the order they started. */
export async function runWorkers(store: StoreDriver, runId: number): Promise<RunWorker[]> {
  const rows = await store.query<RunWorker>(
    `SELECT worker, host, pid, lease_ms, started_at, last_seen, status, chunks, items
     FROM run_workers WHERE run_id = ? ORDER BY started_at, worker`,
    [runId],
  );
  return rows.map((r) => ({
    ...r,
    pid: Number(r.pid),
    lease_ms: Number(r.lease_ms),
    chunks: Number(r.chunks),
    items: Number(r.items),
  }));
}

/**
 * True while the worker is working: it was last seen within its lease (by `now`'s clock), and,
 * on this host, its process is there (a worker killed outright here is known dead at once).
 */
export function isLive(worker: RunWorker, now: number, host = hostname()): boolean {
  if (worker.status !== 'running') return false;
  if (worker.host === host && !processExists(worker.pid)) return false;
  return Date.parse(worker.last_seen) + worker.lease_ms > now;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Workers that are gone (killed on this host, or silent past their lease) are marked so, and the
 * chunks they held are released: a worker joining or resuming takes them at once. Each keeps the
 * time it was last seen alive, not the time it was found gone.
 */
export async function releaseGoneWorkers(store: StoreDriver, runId: number, now: number): Promise<void> {
  for (const w of await runWorkers(store, runId)) {
    if (w.status !== 'running' || isLive(w, now)) continue;
    await leaveRun(
      store,
      runId,
      { worker: w.worker, host: w.host, pid: w.pid, leaseMs: w.lease_ms },
      'gone',
      Date.parse(w.last_seen),
    );
  }
}
