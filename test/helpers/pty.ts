import { spawn, spawnSync } from 'node:child_process';
import { ROOT, USRUN, type CliResult } from './cli.js';

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
  options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {},
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
    const command = [USRUN, ...args].map(shellQuote).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.write(options.input);
    else child.stdin.end();
  });
}
