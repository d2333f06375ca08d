import { spawn, spawnSync } from 'node:child_process';
import { collectOutput, ROOT, USRUN, type CliResult } from './cli.js';

/** True when util-linux `script` is there to give the CLI a pseudo-terminal. */
export const HAS_SCRIPT_PTY = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the real CLI on a pseudo-terminal (stdin, stdout and stderr are all the same TTY), through
 * util-linux `script`. Everything the CLI prints arrives on `stdout`, with CRLF line ends.
 * `NO_COLOR` is removed from the environment unless `env` sets it.
 */
export function runCliInPty(
  args: readonly string[],
  options: {
    env?: Record<string, string | undefined>;
    input?: string;
    timeoutMs?: number;
    /** The terminal's width (`stty cols`), for output that must fit it. */
    columns?: number;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      TERM: 'xterm-256color',
      ...options.env,
    };
    if (!(options.env && 'NO_COLOR' in options.env)) delete env['NO_COLOR'];
    delete env['USRUN_DB'];
    delete env['USRUN_KEY'];
    delete env['FORCE_COLOR'];
    const usrun = [USRUN, ...args].map(shellQuote).join(' ');
    const command = options.columns === undefined ? usrun : `stty cols ${options.columns} rows 24; ${usrun}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    collectOutput(child, options.timeoutMs).then(resolve, reject);
    if (options.input !== undefined) child.stdin.write(options.input);
    else child.stdin.end();
  });
}

/** A CLI on a pseudo-terminal that a test talks to: wait for a prompt, then type keys. */
export interface PtySession {
  /** Resolves once the output so far contains `text` (rejects when the process ends first). */
  waitFor(text: string | RegExp): Promise<void>;
  /** Types on the terminal: `\x03` is Ctrl-C, `\x04` Ctrl-D (the line discipline turns them into SIGINT / end of input). */
  type(keys: string): void;
  /** How the process ended, with everything it printed. */
  readonly done: Promise<CliResult>;
}

/** Starts the real CLI on a pseudo-terminal, like `runCliInPty`, with its input typed by the test. */
export function startCliInPty(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): PtySession {
  const env: Record<string, string | undefined> = { ...process.env, TERM: 'xterm-256color', ...options.env };
  if (!(options.env && 'NO_COLOR' in options.env)) delete env['NO_COLOR'];
  delete env['USRUN_DB'];
  delete env['USRUN_KEY'];
  delete env['FORCE_COLOR'];
  const command = [USRUN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let seen = '';
  const waiters: { test: (s: string) => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    seen += d.toString();
    for (const w of waiters.splice(0)) {
      if (w.test(seen)) w.resolve();
      else waiters.push(w);
    }
  });
  const done = collectOutput(child, options.timeoutMs);
  void done.then(() => {
    for (const w of waiters.splice(0))
      w.reject(new Error(`the process ended before the expected output:\n${seen}`));
  });
  return {
    waitFor: (text) =>
      new Promise((resolve, reject) => {
        const test = (s: string) => (typeof text === 'string' ? s.includes(text) : text.test(s));
        if (test(seen)) resolve();
        else waiters.push({ test, resolve, reject });
      }),
    type: (keys) => void child.stdin.write(keys),
    done,
  };
}
