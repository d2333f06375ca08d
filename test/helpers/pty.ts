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
