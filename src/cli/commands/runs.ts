import { hostname } from 'node:os';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { StoreDriver } from '../../store/driver.js';
import {
  countRunItems,
  getRun,
  isOrphaned,
  listRuns,
  runItems,
  type RunInfo,
} from '../../journal/read-runs.js';
import { RUN_KIND_LABEL } from '../../journal/run-record.js';
import { isLive, runWorkers } from '../../journal/run-chunks.js';
import { undoSource } from '../../run/undo-run.js';
import { commitPlanned, type CommitPlannedResult } from '../../run/commit-planned.js';
import { ITEM_STATUSES } from '../../model/item-result.js';
import { UsageError } from '../../errors.js';
import { scriptLabel } from '../../store/script-library.js';
import { usingStore } from '../../store/using-store.js';
import { changeToJson, formatChange, formatChangeLines } from '../format-change.js';
import { formatGroups, ItemGroups } from '../item-groups.js';
import { formatTable } from '../format-table.js';
import type { Io } from '../io.js';
import { lostConnection } from '../lost-connection.js';
import { groupStyle, RunReporter, whoOf } from '../run-reporter.js';
import { watchStopSignals } from '../watch-stop-signals.js';
import { RunControl } from '../../run/run-control.js';
import { confirmOrDecline } from '../confirm-or-decline.js';

/**
 * What a run ran, in a few words: its script (`@name@2` for a saved one), `undo of run 3`,
 * `users import people.csv` …; a retry names the run whose failed items it ran again.
 */
function describeRun(
  run: Pick<RunInfo, 'kind' | 'undo_of' | 'script_path' | 'script_name' | 'script_version' | 'selection'>,
): string {
  if (run.kind === 'undo') return `undo of run ${run.undo_of}`;
  const script =
    run.script_name !== null && run.script_version !== null
      ? scriptLabel(run.script_name, run.script_version)
      : (run.script_path ?? '');
  const retried = run.selection['failed_of'];
  if (run.kind === 'run' && typeof retried === 'number') return `${script} (failed of run ${retried})`;
  if (run.kind === 'run') return script;
  return `${RUN_KIND_LABEL[run.kind] ?? run.kind} ${run.script_path ?? ''}`.trim();
}

/** `usrun runs list`: newest first, with status and counts. */
export async function runsListCommand(
  options: { db?: string; json?: boolean; limit?: number },
  io: Io,
): Promise<void> {
  await usingStore({ location: options.db, readOnly: true }, async (store) => {
    const runs = await listRuns(store, options.limit ?? 50);
    const host = hostname();
    // A shared run lives as long as any of its workers does, whichever process started it.
    const live = new Set<number>();
    for (const r of runs) {
      if (r.status !== 'running') continue;
      const workers = await runWorkers(store, r.id);
      if (workers.some((w) => isLive(w, Date.now()))) live.add(r.id);
    }
    const status = (r: (typeof runs)[number]) =>
      isOrphaned(r, host) && !live.has(r.id) ? 'killed (resumable)' : r.status;
    if (options.json) {
      for (const r of runs) io.out(`${JSON.stringify({ ...r, status: status(r) })}\n`);
      return;
    }
    if (runs.length === 0) {
      io.err('no runs yet\n');
      return;
    }
    const rows = runs.map((r) => [
      String(r.id),
      r.started_at.replace('T', ' ').slice(0, 19),
      r.kind === 'undo' ? `undo of ${r.undo_of}` : describeRun(r),
      status(r),
      String(r.counts.selected),
      String(r.counts.changed),
      String(r.counts.failed),
      String(r.counts.not_found),
      `${r.os_user}@${r.host}`,
    ]);
    io.out(
      formatTable(
        ['RUN', 'STARTED (UTC)', 'SCRIPT', 'STATUS', 'ITEMS', 'CHANGED', 'FAILED', 'NOT FOUND', 'BY'],
        rows,
        io.color,
      ),
    );
  });
}

/** Items a page of `runs show` lists when no --limit is given. */
const SHOW_PAGE = 50;

export interface RunsShowOptions {
  db?: string;
  json?: boolean;
  status?: string;
  limit?: number;
  offset?: number;
  page?: number;
  script?: boolean;
}

function checkStatus(status: string | undefined): void {
  if (status !== undefined && !ITEM_STATUSES.includes(status as never)) {
    throw new UsageError(`--status must be one of ${ITEM_STATUSES.join(', ')}`);
  }
}

/**
 * `usrun runs show RUN_ID`: the run; its failures, not-found rows, skips and calls with no effect
 * grouped by message and location; then a page of its changed items with their changes (or, with
 * `--status`, a page of the items of that status one by one). `--script` prints the script text.
 */
export async function runsShowCommand(runId: number, options: RunsShowOptions, io: Io): Promise<void> {
  checkStatus(options.status);
  if (options.page !== undefined && options.offset !== undefined)
    throw new UsageError('use --page or --offset, not both');
  await usingStore({ location: options.db, readOnly: true }, async (store) => {
    const run = await getRun(store, runId);
    if (options.script) {
      io.out(run.script_text.endsWith('\n') ? run.script_text : `${run.script_text}\n`);
      return;
    }
    const workers = await runWorkers(store, runId);
    const paged = options.limit !== undefined || options.offset !== undefined || options.page !== undefined;
    const limit = options.limit ?? (options.json && !paged ? undefined : SHOW_PAGE);
    const offset =
      options.offset ?? (options.page !== undefined ? (options.page - 1) * (limit ?? SHOW_PAGE) : 0);
    if (options.json) {
      const { script_text: _text, ...info } = run;
      io.out(`${JSON.stringify({ run: workers.length > 0 ? { ...info, workers } : info })}\n`);
      const items = await runItems(store, runId, { status: options.status, limit, offset });
      for (const i of items)
        io.out(`${JSON.stringify({ ...i, notes: i.notes ?? [], changes: i.changes.map(changeToJson) })}\n`);
      return;
    }
    const c = io.color;
    const orphan =
      isOrphaned(run, hostname()) && !workers.some((w) => isLive(w, Date.now()))
        ? ' (killed: resumable)'
        : '';
    io.out(`${c.bold(`run ${run.id}`)} ${run.status}${orphan} — ${describeRun(run)}\n`);
    io.out(`  started ${run.started_at} by ${run.os_user}@${run.host}, finished ${run.finished_at ?? '-'}\n`);
    io.out(`  selection ${JSON.stringify(run.selection)}  params ${JSON.stringify(run.params)}\n`);
    io.out(`  ${run.kind === 'run' ? 'script' : 'source'} sha256 ${run.script_sha256}\n`);
    const n = run.counts;
    io.out(
      `  ${n.selected} items: ${n.changed} changed, ${n.unchanged} unchanged, ${n.skipped} skipped, ${n.failed} failed, ${n.not_found} not found\n`,
    );
    if (workers.length > 0) {
      const now = Date.now();
      const rows = workers.map((w) => [
        w.host,
        String(w.pid),
        String(w.chunks),
        String(w.items),
        w.last_seen.replace('T', ' ').slice(0, 19),
        w.status === 'running' && !isLive(w, now) ? 'gone' : w.status,
      ]);
      // CHUNKS DONE: the chunks it finished; ITEMS: every item it committed, also in a chunk it
      // did not finish (a gone worker's, which another finished).
      const table = formatTable(
        ['HOST', 'PID', 'CHUNKS DONE', 'ITEMS', 'LAST SEEN (UTC)', 'WORKER'],
        rows,
        c,
      );
      io.out(`  workers:\n${table.trimEnd().replace(/^/gm, '    ')}\n`);
    }
    if (options.status === undefined) {
      const groups = new ItemGroups();
      for (const item of await runItems(store, runId, { problems: true, withoutChanges: true }))
        groups.add(item, whoOf(item, 'line'));
      for (const line of formatGroups(groups.list(), groups.ungrouped, groupStyle(c), {
        items: { no_effect: groups.noEffect },
      }))
        io.out(`${line}\n`);
    }
    const status = options.status ?? 'changed';
    const total = await countRunItems(store, runId, status);
    if (total === 0) return;
    const items = await runItems(store, runId, { status, limit, offset });
    if (options.status === undefined)
      io.out(c.bold(`${total} changed item${total === 1 ? '' : 's'}:`) + '\n');
    for (const item of items) {
      const who = whoOf(item, 'line');
      const label =
        item.status === 'failed'
          ? c.red(item.status)
          : item.status === 'changed'
            ? c.green(item.status)
            : item.status;
      io.out(
        `${label} ${who}${item.error ? `: ${item.error.message}${item.error.location ? ` (${item.error.location})` : ''}` : ''}\n`,
      );
      for (const change of item.changes) {
        if (change.kind === 'field' && change.auto) continue;
        for (const line of formatChangeLines(change)) io.out(`  ${line}\n`);
      }
      for (const note of item.notes ?? [])
        io.out(
          `  ${c.yellow(`no effect: ${note.message}`)}${note.location ? c.dim(` (${note.location})`) : ''}\n`,
        );
      for (const line of item.logs) io.out(`  ${c.dim(`log: ${line}`)}\n`);
    }
    const shownTo = offset + items.length;
    if (offset > 0 || shownTo < total) {
      const size = limit ?? SHOW_PAGE;
      const next =
        shownTo < total
          ? `; next: usrun runs show ${run.id}${options.status ? ` --status ${options.status}` : ''} --page ${Math.floor(shownTo / size) + 1}${options.limit ? ` --limit ${size}` : ''}`
          : '';
      io.out(
        c.dim(
          `${status.replace('_', ' ')} items ${items.length === 0 ? 0 : offset + 1}–${shownTo} of ${total}${next}`,
        ) + '\n',
      );
    }
  });
}

/** One CSV field, quoted when it has to be (RFC 4180). */
function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const EXPORT_COLUMNS = [
  'run_id',
  'seq',
  'user_id',
  'username',
  'profile',
  'csv_line',
  'status',
  'message',
  'location',
  'changes',
  'notes',
] as const;

/**
 * `usrun runs export RUN_ID [--out FILE]`: the run's items as CSV, one row each (GAM's action
 * report): who, status, message and location, the changes in one cell (as `runs show` prints
 * them: no encrypted value, no password), the calls with no effect. Read a page at a time.
 */
export async function runsExportCommand(
  runId: number,
  options: { db?: string; out?: string; status?: string },
  io: Io,
): Promise<void> {
  checkStatus(options.status);
  await usingStore({ location: options.db, readOnly: true }, async (store) => {
    await getRun(store, runId);
    const out = options.out;
    let fd: number | null = null;
    if (out !== undefined) {
      try {
        fd = openSync(out, 'w');
      } catch (error) {
        throw new UsageError(`cannot write ${out}: ${(error as Error).message}`);
      }
    }
    try {
      const rows = await exportItems(store, runId, options.status, (text) =>
        fd === null ? io.out(text) : writeSync(fd, text),
      );
      if (out !== undefined) io.err(`wrote ${rows} item${rows === 1 ? '' : 's'} of run ${runId} to ${out}\n`);
    } finally {
      if (fd !== null) closeSync(fd);
    }
  });
}

/** Writes the CSV a page of items at a time (a 100,000-item run is never all in memory); returns the rows. */
async function exportItems(
  store: StoreDriver,
  runId: number,
  status: string | undefined,
  write: (text: string) => void,
): Promise<number> {
  let rows = 0;
  write(`${EXPORT_COLUMNS.join(',')}\r\n`);
  const PAGE = 1000;
  for (let afterSeq = -1; ;) {
    const items = await runItems(store, runId, { status, limit: PAGE, afterSeq });
    afterSeq = items.at(-1)?.seq ?? afterSeq;
    for (const i of items) {
      const changes = i.changes
        .filter((ch) => !(ch.kind === 'field' && ch.auto))
        .map((ch) => formatChange(ch))
        .join('; ');
      const notes = (i.notes ?? [])
        .map((note) => `${note.message}${note.location ? ` (${note.location})` : ''}`)
        .join('; ');
      const values = [
        runId,
        i.seq,
        i.user_id,
        i.username,
        i.profile ?? null,
        i.line,
        i.status,
        i.error?.message ?? null,
        i.error?.location ?? null,
        changes,
        notes,
      ];
      write(`${values.map(csvField).join(',')}\r\n`);
      rows += 1;
    }
    if (items.length < PAGE) break;
  }
  return rows;
}

/** `usrun runs undo RUN_ID`: restores the run's before values; the undo is a run itself. */
export async function runsUndoCommand(
  targetRunId: number,
  options: { db?: string; json?: boolean; dryRun?: boolean; force?: boolean; yes?: boolean },
  io: Io,
): Promise<number> {
  const dryRun = options.dryRun ?? false;
  return usingStore({ location: options.db }, async (store) => {
    const target = await getRun(store, targetRunId);
    const workers = target.status === 'running' ? await runWorkers(store, target.id) : [];
    const live = workers.some((w) => isLive(w, Date.now()));
    if (target.status === 'running' && (live || (workers.length === 0 && !isOrphaned(target, hostname())))) {
      throw new UsageError(
        `run ${target.id} is still running (pid ${target.pid}); undo it when it has ended`,
      );
    }
    const total = target.counts.changed;
    if (!dryRun && !options.yes && io.stdinIsTTY && io.stderrIsTTY && total > 1) {
      await confirmOrDecline(
        io,
        `About to undo run ${target.id}: restore up to ${total} users in ${store.location}. Continue? [y/N] `,
      );
    }
    const reporter = new RunReporter(io, { json: options.json ?? false, dryRun, total, verbose: true });
    const control = new RunControl();
    // store.location: a server URL without its password, which is never printed.
    const again = `usrun runs undo ${target.id}${options.db ? ` --db ${store.location}` : ''}`;
    const signals = watchStopSignals(
      io,
      control,
      (text) => reporter.note(text),
      () => again,
    );
    let result: CommitPlannedResult;
    try {
      result = await commitPlanned(store, {
        run: {
          kind: 'undo',
          scriptPath: null,
          scriptText: `undo of run ${target.id}`,
          selection: { undo_of: target.id },
          params: {},
          undoOf: target.id,
        },
        dryRun,
        source: (reader) =>
          undoSource(store, reader, { targetRunId: target.id, force: options.force ?? false, control }),
        control,
        onItem: (item) => reporter.item(item),
        onBegin: (id) => reporter.setRunId(id),
      });
    } catch (error) {
      // Undone users stay undone; running the undo again restores the rest (and skips those).
      throw (
        lostConnection(error, store, io, { what: 'finish the undo by running it again', command: again }) ??
        error
      );
    } finally {
      signals.dispose();
    }
    const { runId, status, counts } = result;
    reporter.summary({ ...counts, run_id: runId, dry_run: dryRun, status });
    if (counts.failed > 0 && !options.json) {
      io.err(
        `usrun: ${counts.failed} user${counts.failed === 1 ? ' was' : 's were'} left alone (see above); --force undoes them anyway\n`,
      );
    }
    return status === 'interrupted' ? 3 : counts.failed > 0 ? 1 : 0;
  });
}
