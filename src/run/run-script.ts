import type { ItemResult, RunCounts } from '../model/item-result.js';
import type { PickedItem } from '../model/picked-item.js';
import type { SandboxJob, SandboxOutcome } from '../sandbox/protocol.js';
import type { Sandbox } from '../sandbox/using-sandbox.js';
import type { DialectCapabilities } from '../store/driver.js';
import { loadUsers, type Reader, type StoredUser } from '../store/load-users.js';
import type { Writer } from '../store/writer.js';
import {
  BARRIER,
  commitItems,
  type CommitOptions,
  type PlannedItem,
  type PlannedSource,
} from './commit-items.js';
import { planUserChanges, RejectedChange, type PlanContext } from './plan-user-changes.js';
import type { RunControl } from './run-control.js';
import { toSandboxSnapshot, type AttrDecrypter } from './to-sandbox-snapshot.js';

/** What a run needs besides the script (already in the sandbox). */
export interface RunScriptOptions {
  /** One per lane (`--concurrency`). */
  writers: readonly Writer[];
  /** Where users are loaded from: the store, or the writer itself in a rehearsal. */
  reader: Reader;
  capabilities: DialectCapabilities;
  sandbox: Sandbox;
  /** Pages of picked items, in run order. */
  pages: AsyncIterable<PickedItem[]>;
  /** Every profile by id, for validating memberships. */
  profiles: PlanContext['profiles'];
  cipher: (AttrDecrypter & NonNullable<PlanContext['cipher']>) | null;
  /** Sees the outcomes that come before anything is written: it may refuse the run (throw). */
  checkFirst: (outcomes: readonly SandboxOutcome[]) => void;
  /** Creates the journal's run row before the first commit; null: no journal (dry run). */
  begin: () => Promise<number | null>;
  control: RunControl;
  counts: RunCounts;
  /** What each group commits besides its items (a shared run's chunk leases); see commitItems. */
  groupStatements?: CommitOptions['groupStatements'];
  now?: () => number;
}

/** At most this many jobs cross to the sandbox in one batch. */
const MAX_BATCH = 500;
const MIN_BATCH = 16;
/** Batches in flight: one running in the sandbox, one queued behind it, so it never idles. */
const DEPTH = 2;
/**
 * What the sandbox may run ahead of the commits, in time: after a stop, everything it finished
 * is still committed, so batches are sized to keep that within about a second.
 */
const AHEAD_MS = 300;
/**
 * Outcomes are held back until this many have arrived or this long has passed, so the key check
 * (`checkFirst`) sees a fair sample before the run's first write: a run it refuses leaves nothing.
 */
const WARMUP_ITEMS = 100;
const WARMUP_MS = 250;
/**
 * The commit path never waits on I/O while outcomes are at hand (SQLite answers synchronously),
 * so without a break the event loop would not run: the next batch's jobs would sit half-written
 * in the pipe to the sandbox, and its outcomes unread, until the buffer ran dry — and then the
 * host would wait for a whole batch. A turn of the event loop this often keeps both flowing.
 */
const YIELD_MS = 2;

/** Users sent to the sandbox together, and their outcomes as they stream back. */
interface Batch {
  items: PickedItem[];
  users: Map<number, StoredUser>;
  /** Results decided without running the script (not found, filtered out, …). */
  early: Map<number, ItemResult>;
  outcomes: Map<number, SandboxOutcome>;
  /** The next item to hand out. */
  position: number;
  settled: boolean;
  error: unknown;
  /** Resolves at the next slice of outcomes or when the batch settles. */
  wake: Promise<void>;
  poke: () => void;
}

/** An exponential moving average: steady, yet quick to follow a change of pace. */
function ema(average: number, sample: number): number {
  return average === 0 ? sample : average * 0.8 + sample * 0.2;
}

function baseOf(item: PickedItem, user: StoredUser | undefined) {
  return {
    seq: item.seq,
    user_id: item.userId,
    username: user ? String(user.fields['username']) : null,
    row: item.row,
    line: item.line,
  };
}

function verdict(
  item: PickedItem,
  user: StoredUser | undefined,
  status: ItemResult['status'],
  message: string,
): ItemResult {
  return { ...baseOf(item, user), status, changes: [], logs: [], error: { message } };
}

/**
 * The sandbox side of a run as a `PlannedSource`: picks items page by page, loads their users,
 * and keeps the sandbox busy with batches whose outcomes stream back slice by slice (the sandbox
 * ends a slice every ~100 ms), so the first commit and the progress line come at once whatever
 * the script's speed. Each outcome is re-validated and planned here; `commitItems` writes it.
 * After a stop nothing new is sent, the sandbox runs no further job than the one in hand, and
 * every outcome that came back is still handed out.
 */
class ScriptSource implements PlannedSource {
  private readonly pages: AsyncIterator<PickedItem[]>;
  private pagesDone = false;
  private queue: PickedItem[] = [];
  private batches: Batch[] = [];
  private buffer: PlannedItem[] = [];
  /** CSV users sent since the last barrier: one seen again must wait for those commits. */
  private seen = new Set<number>();
  private barrierDue = false;
  private warm = false;
  private readonly started: number;
  /** Estimated ms per job in the sandbox, and per item committed. */
  private perJob = 0;
  private perCommit = 0;
  private lastSlice = 0;
  private lastSize = MIN_BATCH;
  private lastHandOut = 0;
  private lastYield = 0;
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(private readonly options: RunScriptOptions) {
    this.pages = options.pages[Symbol.asyncIterator]();
    this.now = options.now ?? Date.now;
    this.started = this.now();
  }

  get ready(): boolean {
    if (this.warm && this.buffer.length > 0) return true;
    const b = this.batches[0];
    const item = b?.items[b.position];
    return item !== undefined && (b!.settled || b!.early.has(item.seq) || b!.outcomes.has(item.seq));
  }

  async next(): Promise<PlannedItem | typeof BARRIER | null> {
    for (;;) {
      const { stopping } = this.options.control;
      if (!this.warm) {
        this.warm = stopping || this.buffer.length >= WARMUP_ITEMS || this.now() - this.started >= WARMUP_MS;
      }
      if (this.warm && this.buffer.length > 0) {
        if (this.now() - this.lastYield >= YIELD_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          this.lastYield = this.now();
        }
        return this.handOut();
      }
      if (stopping) this.abort.abort();
      else await this.fill();
      const batch = this.batches[0];
      if (!batch) {
        if (this.buffer.length > 0) {
          this.warm = true;
          continue;
        }
        if (this.barrierDue && !stopping) {
          this.barrierDue = false;
          this.seen.clear();
          return BARRIER;
        }
        return null;
      }
      if (this.take(batch)) continue;
      if (batch.position >= batch.items.length) {
        this.batches.shift();
        continue;
      }
      if (!this.warm && this.buffer.length > 0 && this.now() - this.started >= WARMUP_MS) {
        this.warm = true;
        continue;
      }
      await batch.wake;
    }
  }

  async replan(item: PlannedItem): Promise<PlannedItem> {
    const { seq, user_id: userId, row, line } = item.result;
    const picked: PickedItem = { seq, userId, row, line };
    const users = await loadUsers(this.options.reader, userId === null ? [] : [userId]);
    const user = userId === null ? undefined : users.get(userId);
    if (!user)
      return { result: verdict(picked, user, 'not_found', `user ${userId} no longer exists`), user: null };
    const job = this.job(picked, user);
    if ('status' in job) return { result: job, user: null };
    const [outcome] = await this.options.sandbox.runBatch([job]);
    return this.plan(picked, user, outcome);
  }

  private handOut(): PlannedItem {
    // Time between hand-outs is what a commit costs: it bounds how far the sandbox may run ahead.
    const now = this.now();
    if (this.lastHandOut > 0) this.perCommit = ema(this.perCommit, now - this.lastHandOut);
    this.lastHandOut = now;
    return this.buffer.shift() as PlannedItem;
  }

  /** Moves the batch's items that have their outcome into the buffer; false when none did. */
  private take(batch: Batch): boolean {
    if (batch.error !== undefined) throw batch.error;
    const start = batch.position;
    while (batch.position < batch.items.length) {
      const item = batch.items[batch.position] as PickedItem;
      const early = batch.early.get(item.seq);
      const outcome = batch.outcomes.get(item.seq);
      if (early) this.buffer.push({ result: early, user: null });
      else if (outcome || batch.settled) {
        // Settled without this outcome: cancelled by a stop, so it never ran; nor will the rest.
        if (!outcome && this.abort.signal.aborted) {
          batch.position = batch.items.length;
          break;
        }
        const user = batch.users.get(item.userId as number) as StoredUser;
        this.buffer.push(this.plan(item, user, outcome));
      } else break;
      batch.position += 1;
    }
    return batch.position > start;
  }

  /** Sends batches until DEPTH are in flight, the items run out, or a repeated user needs a barrier. */
  private async fill(): Promise<void> {
    while (this.batches.length < DEPTH && !this.barrierDue) {
      const batch = await this.cut();
      if (!batch) return;
      this.batches.push(batch);
    }
  }

  private async cut(): Promise<Batch | null> {
    while (this.queue.length === 0 && !this.pagesDone) {
      const page = await this.pages.next();
      if (page.done) this.pagesDone = true;
      else this.queue = page.value;
    }
    // Small until commits have been timed, then as large as keeps the sandbox at most AHEAD_MS
    // ahead of the commits (or, for a slow script, of itself).
    const perItem = Math.max(this.perJob, this.perCommit);
    const fits = this.perCommit > 0 ? Math.floor(AHEAD_MS / perItem) : MIN_BATCH;
    const size = Math.max(MIN_BATCH, Math.min(MAX_BATCH, this.lastSize * 4, fits));
    this.lastSize = size;
    const items: PickedItem[] = [];
    let jobs = 0;
    while (this.queue.length > 0 && jobs < size && items.length < MAX_BATCH * 2) {
      const item = this.queue[0] as PickedItem;
      const runs = item.userId !== null && !item.verdict;
      if (runs && item.row !== null) {
        if (this.seen.has(item.userId as number)) {
          if (items.length === 0) this.barrierDue = true;
          break;
        }
        this.seen.add(item.userId as number);
      }
      items.push(this.queue.shift() as PickedItem);
      if (runs) jobs += 1;
    }
    if (items.length === 0) return null;
    return this.submit(items);
  }

  private async submit(items: PickedItem[]): Promise<Batch> {
    // Users with a verdict are loaded too, so their items carry a username.
    const ids = items.filter((i) => i.userId !== null).map((i) => i.userId as number);
    const rows = new Map(items.flatMap((i) => (i.userRow ? [[i.userId as number, i.userRow] as const] : [])));
    const users = await loadUsers(this.options.reader, ids, rows);
    const jobs: SandboxJob[] = [];
    const early = new Map<number, ItemResult>();
    for (const item of items) {
      const user = item.userId === null ? undefined : users.get(item.userId);
      if (item.verdict) early.set(item.seq, verdict(item, user, item.verdict.status, item.verdict.message));
      else if (!user)
        early.set(item.seq, verdict(item, user, 'not_found', `user ${item.userId} no longer exists`));
      else {
        const job = this.job(item, user);
        if ('status' in job) early.set(item.seq, job);
        else jobs.push(job);
      }
    }
    let poke = () => {};
    const batch: Batch = {
      items,
      users,
      early,
      outcomes: new Map(),
      position: 0,
      settled: false,
      error: undefined,
      wake: Promise.resolve(),
      poke: () => poke(),
    };
    const rearm = () => {
      batch.wake = new Promise((resolve) => (poke = resolve));
    };
    rearm();
    const sent = this.now();
    const onOutcomes = (part: SandboxOutcome[]) => {
      const now = this.now();
      const since = Math.max(sent, this.lastSlice);
      this.lastSlice = now;
      if (part.length > 0 && now > since) this.perJob = ema(this.perJob, (now - since) / part.length);
      if (!this.warm) this.checkFirst(batch, part);
      for (const o of part) batch.outcomes.set(o.seq, o);
      batch.poke();
      rearm();
    };
    this.options.sandbox.runBatch(jobs, { signal: this.abort.signal, onOutcomes }).then(
      () => {
        batch.settled = true;
        batch.poke();
      },
      (error: unknown) => {
        batch.error = error;
        batch.settled = true;
        batch.poke();
      },
    );
    return batch;
  }

  private checkFirst(batch: Batch, outcomes: SandboxOutcome[]): void {
    try {
      this.options.checkFirst(outcomes);
    } catch (error) {
      batch.error = error;
    }
  }

  private job(item: PickedItem, user: StoredUser): SandboxJob | ItemResult {
    try {
      const now = new Date(this.now()).toISOString();
      return { seq: item.seq, user: toSandboxSnapshot(user, now, this.options.cipher), row: item.row };
    } catch (error) {
      return verdict(item, user, 'failed', (error as Error).message);
    }
  }

  /** Re-validates one outcome into the changes to write (or the reason there are none). */
  private plan(item: PickedItem, user: StoredUser, outcome: SandboxOutcome | undefined): PlannedItem {
    if (!outcome) {
      const error = { message: 'the sandbox returned no result' };
      return {
        result: { ...baseOf(item, user), user_id: user.id, status: 'failed', changes: [], logs: [], error },
        user: null,
      };
    }
    const logs = Array.isArray(outcome.logs) ? outcome.logs.filter((l) => typeof l === 'string') : [];
    const base = {
      ...baseOf(item, user),
      user_id: user.id,
      ...(outcome.notes ? { notes: outcome.notes } : {}),
    };
    if (outcome.status === 'failed') {
      const error = {
        message: String(outcome.message ?? 'script failed'),
        ...(outcome.location ? { location: String(outcome.location) } : {}),
      };
      return { result: { ...base, status: 'failed', changes: [], logs, error }, user: null };
    }
    if (outcome.status === 'skipped') {
      const error = outcome.message ? { message: String(outcome.message) } : null;
      return { result: { ...base, status: 'skipped', changes: [], logs, error }, user: null };
    }
    const { profiles, cipher } = this.options;
    try {
      const changes = planUserChanges(user, outcome, { profiles, now: new Date(this.now()), cipher });
      const status = changes.length === 0 ? 'unchanged' : 'changed';
      return { result: { ...base, status, changes, logs, error: null }, user };
    } catch (error) {
      if (!(error instanceof RejectedChange)) throw error;
      const rejected = { message: `rejected change: ${error.message}` };
      return { result: { ...base, status: 'failed', changes: [], logs, error: rejected }, user: null };
    }
  }
}

/**
 * A run: the script's outcomes stream from the sandbox while this process commits them through
 * the one commit path (`commitItems`). Yields one result per item, in run order, once committed;
 * a user's failure never stops the others.
 */
export function runScript(options: RunScriptOptions): AsyncGenerator<ItemResult> {
  const { writers, capabilities, control, begin, counts } = options;
  const source = new ScriptSource(options);
  return commitItems({
    writers,
    capabilities,
    source,
    control,
    begin,
    counts,
    ...(options.groupStatements ? { groupStatements: options.groupStatements } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
}
