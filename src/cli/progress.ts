import type { Io } from './io.js';

/** A one-line progress display on stderr (TTY only): run id, done/total, failed, rate, ETA. */
export interface Progress {
  /** Items done and failed so far. */
  tick(done: number, failed?: number): void;
  /** The run's id, once it has one (a dry run never does). */
  setRunId(runId: number | null): void;
  /** Prints a line to stdout or stderr above the progress line, which is drawn again below it. */
  print(stream: 'out' | 'err', text: string): void;
  stop(): void;
}

export interface ProgressOptions {
  label?: string;
  /** Milliseconds since some start; injected by tests. */
  now?: () => number;
  /** The terminal's width; the line is cut to fit it. */
  columns?: () => number;
  /** Redraws the line this often while nothing happens, so the rate and ETA stay current. */
  refreshMs?: number;
}

const REDRAW_MS = 100;
/** Before this much time has passed, a rate (and so an ETA) would be a guess: none is shown. */
const RATE_AFTER_MS = 1000;

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The progress line's text for a moment of the run, cut to `columns - 1` characters (writing the
 * last column makes some terminals wrap). Pure.
 */
export function progressLine(state: {
  runId: number | null;
  label: string;
  done: number;
  total: number | null;
  failed: number;
  elapsedMs: number;
  columns: number;
}): string {
  const { done, total, failed, elapsedMs } = state;
  const rate = elapsedMs >= RATE_AFTER_MS && done > 0 ? done / (elapsedMs / 1000) : null;
  const compose = (withBar: boolean) => {
    const parts: string[] = [];
    if (state.runId !== null) parts.push(`run ${state.runId}`);
    if (total !== null && total > 0) {
      const width = 20;
      const filled = Math.min(width, Math.round((done / total) * width));
      const bar = withBar ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
      parts.push(`${bar}${done}/${total} ${state.label}`);
    } else parts.push(`${done} ${state.label}`);
    parts.push(`${failed} failed`);
    parts.push(rate === null ? '–/s' : `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s`);
    if (total !== null && total > 0)
      parts.push(`ETA ${rate === null ? '–' : formatSeconds((total - done) / rate)}`);
    return parts.join(' · ');
  };
  const max = Math.max(1, state.columns - 1);
  // A narrow terminal loses the bar first, then the end of the line: the counts come first.
  const full = compose(true);
  const line = full.length <= max ? full : compose(false);
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1))}…`;
}

/** Creates a progress line when stderr is a terminal, else one that only prints. */
export function createProgress(io: Io, total: number | null, options: ProgressOptions = {}): Progress {
  if (!io.stderrIsTTY) {
    return {
      tick: () => undefined,
      setRunId: () => undefined,
      print: (stream, text) => io[stream](text),
      stop: () => undefined,
    };
  }
  const now = options.now ?? (() => performance.now());
  const columns = options.columns ?? (() => process.stderr.columns || 80);
  const label = options.label ?? 'users';
  const started = now();
  let done = 0;
  let failed = 0;
  let runId: number | null = null;
  let drawn = false;
  let stopped = false;
  let last = Number.NEGATIVE_INFINITY;
  const clear = () => {
    if (drawn) io.err('\r\x1b[K');
    drawn = false;
  };
  const draw = () => {
    if (stopped) return;
    const line = progressLine({
      runId,
      label,
      done,
      total,
      failed,
      elapsedMs: now() - started,
      columns: columns(),
    });
    io.err(`\r\x1b[K${io.errColor.cyan(line)}`);
    drawn = true;
    last = now();
  };
  // Shown from the start: the first batch can take a while.
  draw();
  const timer = setInterval(draw, options.refreshMs ?? 1000);
  timer.unref();
  return {
    tick(n, f) {
      done = n;
      if (f !== undefined) failed = f;
      if (now() - last >= REDRAW_MS) draw();
    },
    setRunId(id) {
      runId = id;
    },
    print(stream, text) {
      clear();
      io[stream](text);
      draw();
    },
    stop() {
      clearInterval(timer);
      clear();
      stopped = true;
    },
  };
}
