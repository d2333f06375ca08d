import {
  chunkDone,
  claimChunk,
  holdStatements,
  isLive,
  leaveRun,
  renewLeases,
  runWorkers,
  type ClaimedChunk,
  type WorkerIdentity,
} from '../journal/run-chunks.js';
import { countItems, finishRun, type RunStatus } from '../journal/run-record.js';
import type { ItemResult, RunCounts } from '../model/item-result.js';
import type { PickedItem } from '../model/picked-item.js';
import type { SeqRange } from '../model/seq-range.js';
import { chunkPages, type ChunkPages, type Selection } from '../select/pick-items.js';
import type { SqlStatement, StoreDriver } from '../store/driver.js';
import type { RunControl } from './run-control.js';

export interface ChunkFeedOptions {
  store: StoreDriver;
  /** The run's selection (as journaled): each chunk picks its part of it. */
  selection: Selection;
  me: WorkerIdentity;
  /**
   * A new run's first chunk: this worker's from the start, worked on before the run's row exists
   * (`begin` then records the chunks with this one claimed). Null when joining a run.
   */
  first: SeqRange | null;
  /** The run's id; creates the run (and its chunks) the first time for a new run. Memoized. */
  begin: () => Promise<number>;
  /**
   * True once the commit path has begun the run. A new run's row is written only after its first
   * outcomes passed the key check: the first round is its first chunk alone, and asks for no
   * other (which would create the run) unless the run has begun meanwhile.
   */
  begun: () => boolean;
  control: RunControl;
  /** The clock leases are read and written with (tests move it instead of waiting). */
  now: () => number;
  /** How a worker waits for a chunk held by another (tests: no wall-clock wait). */
  sleep: (ms: number) => Promise<void>;
}

interface Active extends ClaimedChunk {
  handed: number;
  committed: number;
  exhausted: boolean;
}

/**
 * The longest a waiting worker sleeps before looking again: a chunk may be released, or the last
 * one done, long before any lease runs out, and a worker that slept through it only keeps its
 * admin waiting (a 1 s wait made two workers 1.47x one instead of 1.7x; one small query each time).
 */
const MAX_WAIT_MS = 200;

/**
 * One worker's share of a run split into chunks (scale-out): where its items come from, and the
 * bookkeeping of the chunks it holds. Each round claims chunks one after another (`claimChunk`:
 * `FOR UPDATE SKIP LOCKED` under a lease) and picks their items as pages for the run's one
 * commit path; every group commits with `groupStatements` (the leases renewed, and proven still
 * this worker's). A chunk is done once every item handed out of it has committed. A round ends
 * when nothing can be claimed; `waitForWork` then waits until another worker's chunk is done
 * (the run is complete), or released, or its lease has run out (a dead worker): it is taken over,
 * and its items already journaled are skipped, as a resume would.
 */
export class ChunkFeed {
  private readonly active = new Map<number, Active>();
  private first: SeqRange | null;
  private renewal: ReturnType<typeof setInterval> | null = null;
  private marking: Promise<void> = Promise.resolve();
  private runId: number | null = null;
  private selectionPages: Promise<ChunkPages> | undefined;

  constructor(private readonly options: ChunkFeedOptions) {
    this.first = options.first;
  }

  /** The items of the chunks this round claims, page by page, in chunk order. */
  async *round(): AsyncGenerator<PickedItem[]> {
    const { store, me, control, now } = this.options;
    if (this.first) {
      const range = this.first;
      this.first = null;
      yield* this.chunkPages({ chunk: 0, ...range, done: new Set() });
      if (!this.options.begun()) return;
    }
    while (!control.stopping) {
      const runId = await this.started();
      const claim = await claimChunk(store, runId, me, now());
      if (claim === null || 'wait' in claim) return;
      yield* this.chunkPages(claim);
    }
  }

  /** Call with each committed result: a chunk whose items have all committed is marked done. */
  committed(result: ItemResult): void {
    for (const chunk of this.active.values()) {
      if (result.seq < chunk.first || result.seq > chunk.last) continue;
      chunk.committed += 1;
      this.settle(chunk);
      return;
    }
  }

  /** The statements each group commits with (see `holdStatements`). */
  readonly groupStatements = (group: readonly ItemResult[], runId: number): SqlStatement[] => {
    const chunks = new Set<number>();
    for (const item of group) {
      for (const chunk of this.active.values()) {
        if (item.seq >= chunk.first && item.seq <= chunk.last) chunks.add(chunk.chunk);
      }
    }
    return holdStatements(runId, this.options.me, [...chunks], group.length, this.options.now());
  };

  /**
   * After a round: waits until a chunk can be claimed (true) or every chunk is done (false).
   * A stop ends the wait (false).
   */
  async waitForWork(): Promise<boolean> {
    const { store, control, now, sleep } = this.options;
    await this.marking;
    if (this.runId === null) {
      if (!this.options.begun() || control.stopping) return false;
      await this.started();
    }
    while (!control.stopping) {
      const [row] = await store.query<{ n_open: number; free: number; lease: string | null }>(
        `SELECT count(*) AS n_open,
                sum(CASE WHEN lease_until IS NULL OR lease_until < ? THEN 1 ELSE 0 END) AS free,
                min(lease_until) AS lease
         FROM run_chunks WHERE run_id = ? AND status <> 'done'`,
        [new Date(now()).toISOString(), this.runId],
      );
      if (Number(row?.n_open ?? 0) === 0) return false;
      if (Number(row?.free ?? 0) > 0) return true;
      const until = row?.lease ? Date.parse(row.lease) : now() + MAX_WAIT_MS;
      await sleep(Math.max(20, Math.min(MAX_WAIT_MS, until - now() + 20)));
    }
    return false;
  }

  /**
   * The worker leaves the run: the run is `completed` once every chunk is done, whoever notices
   * (counts rebuilt from the journal); otherwise this worker's unfinished chunks are released at
   * once, and the run takes `status` only if no other worker is still at it. Returns the run's
   * status and counts as they stand.
   */
  async finish(status: RunStatus): Promise<{ status: RunStatus; counts: RunCounts } | null> {
    const { store, me, now } = this.options;
    if (this.renewal) clearInterval(this.renewal);
    this.renewal = null;
    await this.marking;
    // The run may have begun without this feed asking for it (the first chunk, then a stop).
    if (this.runId === null && this.options.begun()) this.runId = await this.options.begin();
    if (this.runId === null) return null;
    const runId = this.runId;
    const [row] = await store.query<{ n: number }>(
      `SELECT count(*) AS n FROM run_chunks WHERE run_id = ? AND status <> 'done'`,
      [runId],
    );
    const complete = Number(row?.n ?? 0) === 0;
    await leaveRun(store, runId, me, complete ? 'finished' : status, now());
    const counts = await countItems(store, runId);
    if (complete) {
      await finishRun(store, runId, 'completed', counts);
      return { status: 'completed', counts };
    }
    const others = (await runWorkers(store, runId)).filter((w) => w.worker !== me.worker && isLive(w, now()));
    if (others.length > 0) return { status: 'running', counts };
    await finishRun(store, runId, status, counts);
    return { status, counts };
  }

  /** The run's id, once it exists; starts renewing this worker's leases. */
  private async started(): Promise<number> {
    const runId = await this.options.begin();
    if (this.runId === null) {
      this.runId = runId;
      const { store, me, now } = this.options;
      // A third of the lease: two renewals may fail (a busy server) before the lease runs out.
      this.renewal = setInterval(
        () => void renewLeases(store, runId, me, now()).catch(() => undefined),
        Math.max(50, Math.floor(me.leaseMs / 3)),
      );
      this.renewal.unref();
    }
    return runId;
  }

  private async *chunkPages(claim: ClaimedChunk): AsyncGenerator<PickedItem[]> {
    const chunk: Active = { ...claim, handed: 0, committed: 0, exhausted: false };
    this.active.set(chunk.chunk, chunk);
    // The selection is prepared once per worker, not once per chunk (the CSV file read again,
    // all users counted again, for each of a thousand chunks).
    this.selectionPages ??= chunkPages(this.options.store, this.options.selection);
    const pages = (await this.selectionPages)(claim, (item) => claim.done.has(item.seq));
    for await (const page of pages) {
      if (page.length === 0) continue;
      chunk.handed += page.length;
      yield page;
    }
    chunk.exhausted = true;
    this.settle(chunk);
  }

  private settle(chunk: Active): void {
    if (!chunk.exhausted || chunk.committed < chunk.handed) return;
    this.active.delete(chunk.chunk);
    const { store, me, now } = this.options;
    // In order, after the commits that finished it; an error surfaces at `finish` or the next wait.
    this.marking = this.marking.then(async () =>
      chunkDone(store, await this.started(), chunk.chunk, me, now()),
    );
    // Handled here too: a failure (a connection gone) before anyone awaits `marking` must not
    // end the process as an unhandled rejection; awaiting `marking` still throws it.
    this.marking.catch(() => undefined);
  }
}

/**
 * The items of a run shared between workers, as one stream of committed results: a round of
 * chunks through `run` (the run's one commit path), then, while other workers hold chunks, a wait
 * for one to come free, and another round — until every chunk is done or the run stops.
 */
export async function* runInChunks(
  feed: ChunkFeed,
  run: (pages: AsyncIterable<PickedItem[]>) => AsyncIterable<ItemResult>,
): AsyncGenerator<ItemResult> {
  for (;;) {
    for await (const result of run(feed.round())) {
      feed.committed(result);
      yield result;
    }
    if (!(await feed.waitForWork())) return;
  }
}
