import { createInterface } from 'node:readline/promises';
import { Chalk, type ChalkInstance } from 'chalk';
import { DeclinedError } from '../errors.js';

/**
 * Everything a command prints or asks goes through here, so tests can capture it and colors
 * follow one rule: only on a TTY, never with NO_COLOR.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  /** Colors for stdout. */
  readonly color: ChalkInstance;
  /** Colors for stderr (progress, failures, summaries). */
  readonly errColor: ChalkInstance;
  readonly env: NodeJS.ProcessEnv;
  /**
   * Asks a yes/no question on the terminal: true for y/yes, false for anything else or Ctrl-D;
   * Ctrl-C rejects with a `DeclinedError` (exit 130).
   */
  confirm(question: string): Promise<boolean>;
  readonly stdinIsTTY: boolean;
  /** All of stdin, as UTF-8 text (`usrun run -`). */
  readStdin(): Promise<string>;
}

function colorLevel(isTTY: boolean, env: NodeJS.ProcessEnv): 0 | 1 {
  return isTTY && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb' ? 1 : 0;
}

/** The real process's streams. */
export function processIo(): Io {
  const env = process.env;
  const stdoutIsTTY = process.stdout.isTTY === true;
  const stderrIsTTY = process.stderr.isTTY === true;
  // `usrun users list | head`: once the reader is gone, drop output instead of crashing.
  let stdoutClosed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stdoutClosed = true;
  });
  return {
    out: (text) => void (stdoutClosed || process.stdout.write(text)),
    err: (text) => void process.stderr.write(text),
    stdoutIsTTY,
    stderrIsTTY,
    stdinIsTTY: process.stdin.isTTY === true,
    color: new Chalk({ level: colorLevel(stdoutIsTTY, env) }),
    errColor: new Chalk({ level: colorLevel(stderrIsTTY, env) }),
    env,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    confirm: (question) =>
      new Promise<boolean>((resolve, reject) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        let settled = false;
        const settle = (finish: () => void) => {
          if (settled) return;
          settled = true;
          rl.close();
          finish();
        };
        // Ctrl-C at the prompt: readline has the terminal in raw mode and reports it here
        // instead of as a signal. Nothing has happened yet, so it only ends the command.
        rl.on('SIGINT', () =>
          settle(() => {
            process.stderr.write('\n');
            reject(new DeclinedError(130, 'interrupted at the prompt: nothing was changed'));
          }),
        );
        // Ctrl-D (end of input) is no answer, and no answer is "no".
        rl.on('close', () =>
          settle(() => {
            process.stderr.write('\n');
            resolve(false);
          }),
        );
        rl.question(question).then(
          (answer) => settle(() => resolve(/^y(es)?$/i.test(answer.trim()))),
          () => settle(() => resolve(false)),
        );
      }),
  };
}
