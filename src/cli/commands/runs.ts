import { hostname } from 'node:os';
import { getRun, isOrphaned, listRuns, runItems, type RunInfo } from '../../journal/read-runs.js';
import { RUN_KIND_LABEL } from '../../journal/run-record.js';
import { isLive, runWorkers } from '../../journal/run-chunks.js';
import { undoSource } from '../../run/undo-run.js';
import { commitPlanned, type CommitPlannedResult } from '../../run/commit-planned.js';
import { ITEM_STATUSES } from '../../model/item-result.js';
import { UsageError } from '../../errors.js';
import { usingStore } from '../../store/using-store.js';
import { changeToJson, formatChangeLines } from '../format-change.js';
import { formatTable } from '../format-table.js';
import type { Io } from '../io.js';
import { lostConnection } from '../lost-connection.js';
import { RunReporter, whoOf } from '../run-reporter.js';
import { watchStopSignals } from '../watch-stop-signals.js';
import { RunControl } from '../../run/run-control.js';

/** What a run ran, in a few words: its script, `undo of run 3`, `users import people.csv` … */
function describeRun(run: Pick<RunInfo, 'kind' | 'undo_of' | 'script_path'>): string {
  if (run.kind === 'undo') return `undo of run ${run.undo_of}`;
  if (run.kind === 'run') return run.script_path ?? '';
  return `${RUN_KIND_LABEL[run.kind] ?? run.kind} ${run.script_path ?? ''}`.trim();
}

/** `usrun runs list`: newest first, with status and counts. */
export async function runsListCommand(
  options: { db?: string; json?: boolean; limit?: number },
  io: Io,
): Promise<void> {
  await usingStore({ location: options.db }, async (store) => {
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
      String(r.counts.failed + r.counts.not_found),
      `${r.os_user}@${r.host}`,
    ]);
    io.out(
      formatTable(
        ['RUN', 'STARTED (UTC)', 'SCRIPT', 'STATUS', 'ITEMS', 'CHANGED', 'FAILED', 'BY'],
        rows,
        io.color,
      ),
    );
  });
}

/** `usrun runs show RUN_ID`: the run, then its items with changes, logs and errors. */
export async function runsShowCommand(
  runId: number,
  options: { db?: string; json?: boolean; status?: string },
  io: Io,
): Promise<void> {
  if (options.status !== undefined && !ITEM_STATUSES.includes(options.status as never)) {
    throw new UsageError(`--status must be one of ${ITEM_STATUSES.join(', ')}`);
  }
  await usingStore({ location: options.db }, async (store) => {
    const run = await getRun(store, runId);
    const items = await runItems(store, runId, options.status);
    const workers = await runWorkers(store, runId);
    if (options.json) {
      const { script_text: _text, ...info } = run;
      io.out(`${JSON.stringify({ run: workers.length > 0 ? { ...info, workers } : info })}\n`);
      for (const i of items) io.out(`${JSON.stringify({ ...i, changes: i.changes.map(changeToJson) })}\n`);
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
      const table = formatTable(['HOST', 'PID', 'CHUNKS', 'ITEMS', 'LAST SEEN (UTC)', 'WORKER'], rows, c);
      io.out(`  workers:\n${table.trimEnd().replace(/^/gm, '    ')}\n`);
    }
    for (const item of items) {
      const who = whoOf(item, 'line');
      const status =
        item.status === 'failed'
          ? c.red(item.status)
          : item.status === 'changed'
            ? c.green(item.status)
            : item.status;
      io.out(
        `${status} ${who}${item.error ? `: ${item.error.message}${item.error.location ? ` (${item.error.location})` : ''}` : ''}\n`,
      );
      for (const change of item.changes) {
        if (change.kind === 'field' && change.auto) continue;
        for (const line of formatChangeLines(change)) io.out(`  ${line}\n`);
      }
      for (const line of item.logs) io.out(`  ${c.dim(`log: ${line}`)}\n`);
    }
  });
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
      const ok = await io.confirm(
        `About to undo run ${target.id}: restore up to ${total} users in ${store.location}. Continue? [y/N] `,
      );
      if (!ok) throw new UsageError('cancelled: nothing was changed');
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
