import type { ItemResult } from '../model/item-result.js';
import type { PickedItem } from '../model/picked-item.js';
import type { SandboxJob, SandboxOutcome } from '../sandbox/protocol.js';
import type { Sandbox } from '../sandbox/using-sandbox.js';
import type { DialectCapabilities } from '../store/driver.js';
import { loadUsers, type Reader, type StoredUser } from '../store/load-users.js';
import type { Writer } from '../store/writer.js';
import { BARRIER, commitItems, type PlannedItem, type PlannedSource } from './commit-items.js';
import { planUserChanges, RejectedChange, type PlanContext } from './plan-user-changes.js';
import type { RunControl } from './run-control.js';
import { toSandboxSnapshot, type AttrDecrypter } from './to-sandbox-snapshot.js';
import type { RunCounts } from '../model/item-result.js';

/** What a run needs besides the script (already in the sandbox). */
export interface RunScriptOptions {
  writer: Writer;
  /** Where users are loaded from: the store, or the writer itself in a rehearsal. */
  reader: Reader;
  capabilities: DialectCapabilities;
  sandbox: Sandbox;
  /** Pages of picked items, in run order. */
  pages: AsyncIterable<PickedItem[]>;
  /** Every profile by id, for validating memberships. */
  profiles: PlanContext['profiles'];
  cipher: (AttrDecrypter & NonNullable<PlanContext['cipher']>) | null;
  /** Sees the first outcomes before anything is written: it may refuse the run (throw). */
  checkFirst: (outcomes: readonly SandboxOutcome[]) => void;
  /** Creates the journal's run row before the first commit; null: no journal (dry run). */
  begin: () => Promise<number | null>;
  control: RunControl;
  counts: RunCounts;
  /** How long a slice of jobs should keep the sandbox busy (the batch size adapts to it). */
  sliceMs?: number;
  now?: () => number;
}

/** At most this many jobs cross to the sandbox at once. */
const MAX_SLICE = 500;
/** Slices in flight: one running in the sandbox, one queued behind it, so it never idles. */
const DEPTH = 2;
const SLICE_MS = 100;

/** A run of items sent to the sandbox together, and what is known about them so far. */
interface Slice {
  items: PickedItem[];
  users: Map<number, StoredUser>;
  /** Results decided without running the script (not found, filtered out, …). */
  early: Map<number, ItemResult>;
  jobs: number;
  outcomes: Promise<SandboxOutcome[]>;
  settled: boolean;
  submittedAt: number;
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
 * and keeps the sandbox busy with slices whose size adapts so each takes about `sliceMs` (one user
 * at first, so the first commit comes at once; a slow script goes user by user). Each outcome is
 * re-validated and planned here; `commitItems` writes it. After a stop, nothing new is sent, a
 * queued slice never starts, and what the sandbox had in hand is still handed out.
 */
class ScriptSource implements PlannedSource {
  private readonly pages: AsyncIterator<PickedItem[]>;
  private pagesDone = false;
  private queue: PickedItem[] = [];
  private slices: Slice[] = [];
  private buffer: PlannedItem[] = [];
  /** CSV users handed out since the last barrier: one seen again must wait for those commits. */
  private seen = new Set<number>();
  private barrierDue = false;
  private size = 1;
  private lastSettled = 0;
  private checked = false;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly sliceMs: number;

  constructor(private readonly options: RunScriptOptions) {
    this.pages = options.pages[Symbol.asyncIterator]();
    this.now = options.now ?? Date.now;
    this.sliceMs = options.sliceMs ?? SLICE_MS;
  }

  get ready(): boolean {
    return this.buffer.length > 0 || (this.slices[0]?.settled ?? false);
  }

  async next(): Promise<PlannedItem | typeof BARRIER | null> {
    for (;;) {
      const item = this.buffer.shift();
      if (item) return item;
      if (this.options.control.stopping) this.abort.abort();
      else await this.fill();
      const slice = this.slices.shift();
      if (slice) {
        this.buffer = await this.finish(slice);
        continue;
      }
      if (this.barrierDue && !this.options.control.stopping) {
        this.barrierDue = false;
        this.seen.clear();
        return BARRIER;
      }
      return null;
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

  /** Sends slices until DEPTH are in flight, the items run out, or a repeated user needs a barrier. */
  private async fill(): Promise<void> {
    while (this.slices.length < DEPTH && !this.barrierDue) {
      const slice = await this.cut();
      if (!slice) return;
      this.slices.push(slice);
    }
  }

  private async cut(): Promise<Slice | null> {
    while (this.queue.length === 0 && !this.pagesDone) {
      const page = await this.pages.next();
      if (page.done) this.pagesDone = true;
      else this.queue = page.value;
    }
    const items: PickedItem[] = [];
    let jobs = 0;
    while (this.queue.length > 0 && jobs < this.size && items.length < MAX_SLICE) {
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

  private async submit(items: PickedItem[]): Promise<Slice> {
    // Users with a verdict are loaded too, so their items carry a username.
    const ids = items.filter((i) => i.userId !== null).map((i) => i.userId as number);
    const rows = new Map(items.filter((i) => i.userRow).map((i) => [i.userId as number, i.userRow!]));
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
    const slice: Slice = {
      items,
      users,
      early,
      jobs: jobs.length,
      outcomes: this.options.sandbox.runBatch(jobs, this.abort.signal),
      settled: false,
      submittedAt: this.now(),
    };
    slice.outcomes.then(
      () => (slice.settled = true),
      () => (slice.settled = true),
    );
    return slice;
  }

  private job(item: PickedItem, user: StoredUser): SandboxJob | ItemResult {
    try {
      const now = new Date(this.now()).toISOString();
      return { seq: item.seq, user: toSandboxSnapshot(user, now, this.options.cipher), row: item.row };
    } catch (error) {
      return verdict(item, user, 'failed', (error as Error).message);
    }
  }

  /** Turns a settled slice into planned items, in order, and adapts the next slice's size. */
  private async finish(slice: Slice): Promise<PlannedItem[]> {
    const list = await slice.outcomes;
    const settledAt = this.now();
    if (slice.jobs > 0 && list.length === 0 && this.abort.signal.aborted) return []; // never ran
    if (slice.jobs > 0) {
      // The slice ran from when it was sent or the previous one ended, whichever is later.
      const span = Math.max(1, settledAt - Math.max(slice.submittedAt, this.lastSettled));
      const perJob = span / slice.jobs;
      this.size = Math.max(1, Math.min(MAX_SLICE, this.size * 4, Math.floor(this.sliceMs / perJob)));
    }
    this.lastSettled = settledAt;
    if (!this.checked && list.length > 0) {
      this.checked = true;
      this.options.checkFirst(list);
    }
    const outcomes = new Map(list.map((o) => [o.seq, o]));
    return slice.items.map((item) => {
      const early = slice.early.get(item.seq);
      if (early) return { result: early, user: null };
      const user = slice.users.get(item.userId as number) as StoredUser;
      return this.plan(item, user, outcomes.get(item.seq));
    });
  }

  /** Re-validates one outcome into the changes to write (or the reason there are none). */
  private plan(item: PickedItem, user: StoredUser, outcome: SandboxOutcome | undefined): PlannedItem {
    const base = { ...baseOf(item, user), user_id: user.id };
    if (!outcome) {
      const error = { message: 'the sandbox returned no result' };
      return { result: { ...base, status: 'failed', changes: [], logs: [], error }, user: null };
    }
    const logs = Array.isArray(outcome.logs) ? outcome.logs.filter((l) => typeof l === 'string') : [];
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
  const { writer, capabilities, control, begin, counts } = options;
  const source = new ScriptSource(options);
  return commitItems({
    writer,
    capabilities,
    source,
    control,
    begin,
    counts,
    ...(options.now ? { now: options.now } : {}),
  });
}
