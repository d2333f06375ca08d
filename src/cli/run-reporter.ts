import type { ItemResult, RunCounts } from '../model/item-result.js';
import { changeToJson, formatChangeLines } from './format-change.js';
import type { Io } from './io.js';
import { createProgress, type Progress } from './progress.js';

export interface RunSummary extends RunCounts {
  seconds: number;
  users_per_second: number;
  run_id: number | null;
  dry_run: boolean;
  status: string;
}

/** How a run ended; the reporter adds the time and rate it measured. */
export type RunEnd = Omit<RunSummary, 'seconds' | 'users_per_second'>;

/**
 * Renders a run as it happens (SPEC §6): NDJSON lines with `--json`; otherwise a progress line,
 * failures as they happen on stderr, each changed user's diff on a dry run, and the summary.
 */
export class RunReporter {
  private readonly progress: Progress;
  private readonly started = Date.now();
  private done = 0;

  constructor(
    private readonly io: Io,
    private readonly options: { json: boolean; dryRun: boolean; total: number | null; verbose?: boolean },
  ) {
    this.progress = createProgress(io, options.total);
  }

  item(result: ItemResult): void {
    this.done += 1;
    const { io } = this;
    if (this.options.json) {
      const { user_id, username, row, status, logs, error } = result;
      const profile = result.profile != null ? { profile: result.profile } : {};
      io.out(
        `${JSON.stringify({ user_id, username, ...profile, row, status, changes: result.changes.map(changeToJson), logs, error })}\n`,
      );
    } else {
      const who = this.who(result);
      if (result.status === 'failed' || result.status === 'not_found') {
        const where = result.error?.location ? io.errColor.dim(` (${result.error.location})`) : '';
        const label =
          result.status === 'failed' ? io.errColor.red('✗ failed') : io.errColor.yellow('? not found');
        this.progress.print('err', `${label} ${who}: ${result.error?.message ?? ''}${where}\n`);
        for (const line of result.logs) this.progress.print('err', `    ${io.errColor.dim(line)}\n`);
      } else if (result.status === 'changed' && (this.options.dryRun || this.options.verbose)) {
        const lines = result.changes
          .filter((c) => !(c.kind === 'field' && c.auto))
          .flatMap((c) => formatChangeLines(c))
          .map((line) => `  ${this.colorize(line)}\n`);
        this.progress.print('out', `${io.color.bold(who)}\n${lines.join('')}`);
        for (const line of result.logs) this.progress.print('out', `  ${io.color.dim(`log: ${line}`)}\n`);
      }
    }
    this.progress.tick(this.done);
  }

  /** Prints the closing summary (or its JSON line) and returns it. */
  summary(end: RunEnd): RunSummary {
    const seconds = (Date.now() - this.started) / 1000;
    const summary: RunSummary = { ...end, seconds, users_per_second: seconds > 0 ? this.done / seconds : 0 };
    this.progress.stop();
    const { io } = this;
    if (this.options.json) {
      io.out(`${JSON.stringify({ summary })}\n`);
      return summary;
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
    const rate = `${summary.seconds.toFixed(1)}s, ${Math.round(summary.users_per_second)} users/s`;
    const title = summary.dry_run
      ? c.bold('dry run') + c.dim(' (nothing written)')
      : c.bold(`run ${summary.run_id}`) + ` ${summary.status}`;
    io.out(`${title}: ${parts.join(', ')} — ${rate}\n`);
    return summary;
  }

  /** A line on stderr that does not garble the progress line. */
  note(text: string): void {
    this.progress.print('err', text);
  }

  private who(result: ItemResult): string {
    return whoOf(result, 'row at line');
  }

  private colorize(line: string): string {
    const c = this.io.color;
    if (line.startsWith('+ ')) return c.green(line);
    if (line.startsWith('- ')) return c.red(line);
    if (line.startsWith('~ ')) return c.yellow(line);
    return line;
  }
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
