import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/io.js';
import { createProgress, progressLine } from '../../src/cli/progress.js';
import { RunReporter } from '../../src/cli/run-reporter.js';
import type { ItemResult } from '../../src/model/item-result.js';

/** The progress line and the live report on a (pretend) terminal, with an injected clock. */

function terminal(): { io: Io; text: () => string } {
  let text = '';
  const io: Io = {
    out: (t) => void (text += t),
    err: (t) => void (text += t),
    stdoutIsTTY: true,
    stderrIsTTY: true,
    stdinIsTTY: true,
    color: new Chalk({ level: 0 }),
    errColor: new Chalk({ level: 0 }),
    env: {},
    confirm: async () => false,
    readStdin: async () => '',
  };
  return { io, text: () => text };
}

/** What the terminal shows: each \r returns to the line start and \x1b[K clears it. */
function screen(raw: string): string[] {
  const lines: string[] = [''];
  const parts = raw.split(/(\r|\n|\x1b\[K)/); // eslint-disable-line no-control-regex
  for (const part of parts) {
    if (part === '\r') lines[lines.length - 1] = '';
    else if (part === '\n') lines.push('');
    else if (part !== '\x1b[K') lines[lines.length - 1] += part;
  }
  return lines;
}

const base = { runId: 12, label: 'users', total: 50_000, failed: 0, columns: 200 };

describe('progressLine', () => {
  it('says "ETA –" and "–/s" until a rate is known, never an ETA from a 0/s start', () => {
    expect(progressLine({ ...base, done: 0, elapsedMs: 0 })).toBe(
      'run 12 · [--------------------] 0/50000 users · 0 failed · –/s · ETA –',
    );
    // One user done within the first moments: no rate yet, so no 4574-minute ETA.
    expect(progressLine({ ...base, done: 1, elapsedMs: 400 })).toMatch(
      /1\/50000 users · 0 failed · –\/s · ETA –$/,
    );
    expect(progressLine({ ...base, done: 5000, failed: 7, elapsedMs: 10_000 })).toBe(
      'run 12 · [##------------------] 5000/50000 users · 7 failed · 500/s · ETA 1m30s',
    );
  });

  it('fits on one line at any width (cut to columns - 1, ending in …)', () => {
    for (const columns of [10, 20, 40, 80]) {
      const line = progressLine({ ...base, done: 5000, failed: 3, elapsedMs: 10_000, columns });
      expect(line.length).toBeLessThanOrEqual(columns - 1);
      expect(line).not.toContain('\n');
    }
    // Narrow: the bar goes first, then the end of the line.
    expect(progressLine({ ...base, done: 5000, elapsedMs: 10_000, columns: 60 })).toBe(
      'run 12 · 5000/50000 users · 0 failed · 500/s · ETA 1m30s',
    );
    expect(progressLine({ ...base, done: 5000, elapsedMs: 10_000, columns: 30 })).toBe(
      'run 12 · 5000/50000 users · …',
    );
  });

  it('leaves out the run id before the run has one, and the bar when the total is unknown', () => {
    expect(progressLine({ ...base, runId: null, total: null, done: 3, elapsedMs: 2000 })).toBe(
      '3 users · 0 failed · 1.5/s',
    );
  });
});

describe('createProgress on a terminal', () => {
  it('is drawn from the start, and drawn again below every line printed above it', () => {
    const { io, text } = terminal();
    let now = 0;
    const progress = createProgress(io, 100, { now: () => now, columns: () => 80 });
    expect(screen(text())).toEqual(['[--------------------] 0/100 users · 0 failed · –/s · ETA –']);
    progress.setRunId(4);
    now = 2000;
    progress.tick(10, 1);
    progress.print('err', '✗ failed alice (#1): boom\n');
    expect(screen(text())).toEqual([
      '✗ failed alice (#1): boom',
      'run 4 · [##------------------] 10/100 users · 1 failed · 5.0/s · ETA 18s',
    ]);
    progress.stop();
    expect(screen(text())).toEqual(['✗ failed alice (#1): boom', '']);
  });

  it('prints only, without a terminal', () => {
    const { io, text } = terminal();
    const progress = createProgress({ ...io, stderrIsTTY: false }, 100);
    progress.tick(1, 0);
    progress.print('err', 'line\n');
    progress.stop();
    expect(text()).toBe('line\n');
  });
});

describe('RunReporter live output', () => {
  const failed = (seq: number, location = 'x.js:1:7'): ItemResult => ({
    seq,
    user_id: seq,
    username: `u${seq}`,
    row: null,
    line: null,
    status: 'failed',
    changes: [],
    logs: [],
    error: { message: 'Error: boom', location },
  });

  it('prints the first 3 failures of a kind, says once that more are counted, then stays quiet', () => {
    const { io, text } = terminal();
    let now = 0;
    const reporter = new RunReporter(
      { ...io, stderrIsTTY: false },
      { json: false, dryRun: false, total: 50, now: () => now },
    );
    for (let i = 1; i <= 50; i++) reporter.item(failed(i));
    reporter.item(failed(51, 'x.js:2:7'));
    now = 2000;
    const summary = reporter.summary({
      selected: 51,
      changed: 0,
      unchanged: 0,
      skipped: 0,
      failed: 51,
      not_found: 0,
      run_id: 3,
      dry_run: false,
      status: 'completed',
    });
    const lines = text().split('\n');
    expect(lines.filter((l) => l.startsWith('✗ failed'))).toEqual([
      '✗ failed u1 (#1): Error: boom (x.js:1:7)',
      '✗ failed u2 (#2): Error: boom (x.js:1:7)',
      '✗ failed u3 (#3): Error: boom (x.js:1:7)',
      '✗ failed u51 (#51): Error: boom (x.js:2:7)',
    ]);
    expect(lines.filter((l) => l.includes('more like this (Error: boom)'))).toHaveLength(1);
    expect(text()).toContain(
      'failed (51 items):\n  50 × Error: boom (x.js:1:7)\n      e.g. u1 (#1); u2 (#2); u3 (#3) … and 47 more like this\n  1 × Error: boom (x.js:2:7)\n      e.g. u51 (#51)\n',
    );
    expect(summary.groups.map((g) => [g.count, g.location])).toEqual([
      [50, 'x.js:1:7'],
      [1, 'x.js:2:7'],
    ]);
    expect(summary.users_per_second).toBe(25.5);
  });
});
