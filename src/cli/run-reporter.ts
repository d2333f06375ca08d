import type { ChalkInstance } from 'chalk';
import type { ItemResult, RunCounts } from '../model/item-result.js';
import { changeToJson, formatChangeLines } from './format-change.js';
import type { Io } from './io.js';
import { formatGroups, GROUP_EXAMPLES, ItemGroups, type ItemGroup } from './item-groups.js';
import { createProgress, type Progress, type ProgressOptions } from './progress.js';

export interface RunSummary extends RunCounts {
  seconds: number;
  users_per_second: number;
  run_id: number | null;
  dry_run: boolean;
  status: string;
  /** Items with at least one script call that had no effect. */
  no_effect: number;
  /** Failures, skips and calls with no effect grouped by message and location. */
  groups: ItemGroup[];
  /** Items this session went through (less than `selected` on a resume). */
  session_items: number;
}

/** How a run ended; the reporter adds the time, rate and groups it measured. */
export type RunEnd = Omit<
  RunSummary,
  'seconds' | 'users_per_second' | 'no_effect' | 'groups' | 'session_items'
>;

export interface RunReporterOptions {
  json: boolean;
  dryRun: boolean;
  total: number | null;
  /** Print each changed user's diff, and every user's console lines, as they happen. */
  verbose?: boolean;
  /** The run continues an earlier session (`--resume`): the summary tells this session apart. */
  resumed?: boolean;
  /** For tests: the clock and terminal width of the progress line. */
  progress?: ProgressOptions;
  /** For tests: the clock of the summary's time and rate (milliseconds). */
  now?: () => number;
}

/**
 * Renders a run as it happens (SPEC §6): NDJSON lines with `--json`; otherwise a progress line,
 * the first few failures, skips and calls with no effect of each kind as they happen on stderr
 * (then "… more like this" once), each changed user's diff on a dry run, and the summary with
 * those grouped by message and location.
 */
export class RunReporter {
  private readonly progress: Progress;
  private readonly now: () => number;
  private readonly started: number;
  private readonly groups = new ItemGroups();
  private done = 0;
  private failed = 0;

  constructor(
    private readonly io: Io,
    private readonly options: RunReporterOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.progress = options.json
      ? createProgress({ ...io, stderrIsTTY: false }, null)
      : createProgress(io, options.total, options.progress);
  }

  /** The run's id, once the journal has given it one. */
  setRunId(runId: number | null): void {
    this.progress.setRunId(runId);
  }

  item(result: ItemResult): void {
    this.done += 1;
    if (result.status === 'failed' || result.status === 'not_found') this.failed += 1;
    const { io } = this;
    const who = whoOf(result, 'row at line');
    const grouped = this.groups.add(result, who);
    if (this.options.json) {
      const { user_id, username, row, status, logs, error } = result;
      const profile = result.profile != null ? { profile: result.profile } : {};
      io.out(
        `${JSON.stringify({ user_id, username, ...profile, row, status, changes: result.changes.map(changeToJson), logs, error, notes: result.notes ?? [] })}\n`,
      );
      return;
    }
    let logsShown = false;
    for (const { group, nth } of grouped) {
      // Problems on stderr; what the script chose (a skip) or left as it was (a call with no
      // effect) on stdout, with the diffs and the summary: stderr stays empty for a clean run.
      const stream = isProblem(group) ? 'err' : 'out';
      const color = stream === 'err' ? io.errColor : io.color;
      if (nth <= GROUP_EXAMPLES) {
        this.progress.print(
          stream,
          `${this.label(group, color)} ${who}: ${group.message}${this.where(group, color)}\n`,
        );
        if (group.kind !== 'no_effect' && !logsShown) {
          for (const line of result.logs) this.progress.print(stream, `    ${color.dim(line)}\n`);
          logsShown = true;
        }
      } else if (nth === GROUP_EXAMPLES + 1) {
        this.progress.print(
          stream,
          color.dim(`  … and more like this (${group.message}): counted in the summary, not shown\n`),
        );
      }
    }
    if (result.status === 'changed' && (this.options.dryRun || this.options.verbose)) {
      const lines = result.changes
        .filter((c) => !(c.kind === 'field' && c.auto))
        .flatMap((c) => formatChangeLines(c))
        .map((line) => `  ${this.colorize(line)}\n`);
      this.progress.print('out', `${io.color.bold(who)}\n${lines.join('')}`);
      for (const line of result.logs) this.progress.print('out', `  ${io.color.dim(`log: ${line}`)}\n`);
    } else if (this.options.verbose && !logsShown && result.logs.length > 0) {
      // --verbose: every user's console lines, live, whatever became of the user.
      const lines = result.logs.map((line) => `  ${io.color.dim(`log: ${line}`)}\n`).join('');
      this.progress.print('out', `${io.color.bold(who)} ${result.status}\n${lines}`);
    }
    this.progress.tick(this.done, this.failed);
  }

  /** Prints the closing summary (or its JSON line) and returns it. */
  summary(end: RunEnd): RunSummary {
    const seconds = (this.now() - this.started) / 1000;
    const summary: RunSummary = {
      ...end,
      seconds,
      users_per_second: seconds > 0 ? this.done / seconds : 0,
      no_effect: this.groups.noEffect,
      groups: this.groups.list(),
      session_items: this.done,
    };
    this.progress.stop();
    const { io } = this;
    if (this.options.json) {
      io.out(`${JSON.stringify({ summary })}\n`);
      return summary;
    }
    // Failures and rows not found grouped on stderr; skips and calls with no effect on stdout.
    for (const problems of [true, false]) {
      const color = problems ? io.errColor : io.color;
      const lines = formatGroups(
        summary.groups.filter((g) => isProblem(g) === problems),
        {
          ...this.groups.ungrouped,
          ...(problems ? { skipped: 0, no_effect: 0 } : { failed: 0, not_found: 0 }),
        },
        groupStyle(color),
        { items: { no_effect: this.groups.noEffect } },
      );
      for (const line of lines) io[problems ? 'err' : 'out'](`${line}\n`);
    }
    const c = io.color;
    const parts = [
      `${summary.selected} selected`,
      c.green(`${summary.changed} ${summary.dry_run ? 'would change' : 'changed'}`),
      `${summary.unchanged} unchanged`,
      `${summary.skipped} skipped`,
      summary.failed > 0 ? c.red(`${summary.failed} failed`) : `0 failed`,
      summary.not_found > 0 ? c.yellow(`${summary.not_found} not found`) : `0 not found`,
    ];
    if (summary.no_effect > 0) parts.push(c.yellow(`${summary.no_effect} with calls that had no effect`));
    const rate = `${summary.seconds.toFixed(1)}s, ${Math.round(summary.users_per_second)} users/s`;
    const timing = this.options.resumed
      ? `this session: ${summary.session_items} ${summary.session_items === 1 ? 'user' : 'users'} in ${rate}`
      : rate;
    const title = summary.dry_run
      ? c.bold('dry run') + c.dim(' (nothing written)')
      : c.bold(`run ${summary.run_id}`) + ` ${summary.status}`;
    io.out(`${title}: ${parts.join(', ')} — ${timing}\n`);
    return summary;
  }

  /** A line on stderr that does not garble the progress line. */
  note(text: string): void {
    this.progress.print('err', text);
  }

  private label(group: ItemGroup, c: ChalkInstance): string {
    switch (group.kind) {
      case 'failed':
        return c.red('✗ failed');
      case 'not_found':
        return c.yellow('? not found');
      case 'skipped':
        return '- skipped';
      case 'no_effect':
        return c.yellow('! no effect');
    }
  }

  private where(group: ItemGroup, c: ChalkInstance): string {
    return group.location ? c.dim(` (${group.location})`) : '';
  }

  private colorize(line: string): string {
    const c = this.io.color;
    if (line.startsWith('+ ')) return c.green(line);
    if (line.startsWith('- ')) return c.red(line);
    if (line.startsWith('~ ')) return c.yellow(line);
    return line;
  }
}

/** Failures and rows not found are problems (stderr); skips and calls with no effect are not. */
function isProblem(group: Pick<ItemGroup, 'kind'>): boolean {
  return group.kind === 'failed' || group.kind === 'not_found';
}

/** How the groups are colored: failures red, rows not found and calls with no effect yellow. */
export function groupStyle(c: ChalkInstance): Parameters<typeof formatGroups>[2] {
  return {
    dim: (s) => c.dim(s),
    heading: (kind, s) => (kind === 'failed' ? c.red(s) : kind === 'skipped' ? s : c.yellow(s)),
  };
}

/**
 * How an item is named in reports: `alice (#42)`, a user an import creates `alice (new)` until
 * it has an id, `profile gold`, and the CSV line when there is one.
 */
export function whoOf(result: ItemResult, lineLabel: string): string {
  const user =
    result.username !== null
      ? `${result.username} (${result.user_id === null ? 'new' : `#${result.user_id}`})`
      : null;
  const profile = result.profile != null ? `profile ${result.profile}` : null;
  const row = result.line !== null ? `${lineLabel} ${result.line}` : null;
  return [user, profile, row].filter(Boolean).join(', ') || `item ${result.seq}`;
}
