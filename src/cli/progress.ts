import type { Io } from './io.js';

/** A one-line progress display on stderr (TTY only): done/total, rate, ETA. */
export interface Progress {
  tick(done: number): void;
  /** Prints a line to stdout or stderr without garbling the progress line. */
  print(stream: 'out' | 'err', text: string): void;
  stop(): void;
}

const REDRAW_MS = 100;

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.round(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** Creates a progress line when stderr is a terminal, else one that only prints. */
export function createProgress(io: Io, total: number | null, label = 'users'): Progress {
  if (!io.stderrIsTTY) {
    return { tick: () => undefined, print: (stream, text) => io[stream](text), stop: () => undefined };
  }
  const started = Date.now();
  let done = 0;
  let drawn = false;
  let last = 0;
  const clear = () => {
    if (drawn) io.err('\r\x1b[K');
    drawn = false;
  };
  const draw = () => {
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const width = 24;
    let line: string;
    if (total !== null && total > 0) {
      const filled = Math.min(width, Math.round((done / total) * width));
      const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
      line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${label} ${Math.round(rate)}/s ETA ${formatSeconds(eta)}`;
    } else {
      line = `${done} ${label} ${Math.round(rate)}/s`;
    }
    io.err(`\r\x1b[K${io.errColor.cyan(line)}`);
    drawn = true;
    last = Date.now();
  };
  return {
    tick(n) {
      done = n;
      if (Date.now() - last >= REDRAW_MS) draw();
    },
    print(stream, text) {
      clear();
      io[stream](text);
    },
    stop() {
      clear();
    },
  };
}
