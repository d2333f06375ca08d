import { Chalk } from 'chalk';
import { exitCodeFor } from '../../src/cli/exit-code-for.js';
import type { Io } from '../../src/cli/io.js';
import { buildProgram } from '../../src/cli/program.js';
import type { CliResult } from './cli.js';

/**
 * Runs a usrun command in this process with a captured Io — the same command table and error
 * handler as bin/usrun, without a process start. For behaviour; spawn the real CLI (runCli) only
 * for what needs a process: signals, exit of the process, the TTY, the entry point.
 */
export async function usrun(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; answer?: boolean; stdin?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const env: NodeJS.ProcessEnv = { NO_COLOR: '1', ...options.env };
  const io: Io = {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    stdoutIsTTY: false,
    stderrIsTTY: options.answer !== undefined,
    stdinIsTTY: options.answer !== undefined,
    color: new Chalk({ level: 0 }),
    errColor: new Chalk({ level: 0 }),
    env,
    readStdin: async () => options.stdin ?? '',
    confirm: async (question) => {
      stderr += question;
      return options.answer ?? false;
    },
  };
  let code = 0;
  try {
    await buildProgram(io).parseAsync(['node', 'usrun', ...oneLane(args)]);
  } catch (error) {
    code = exitCodeFor(error, io);
  }
  return { code, signal: null, stdout, stderr };
}

/**
 * `usrun run` with one writer unless the test asks for more: on a server database the default
 * lanes commit users out of obj_id order, and these tests assert the order of items and ids.
 * Concurrency itself is tested on its own (test/e2e/run-engine.test.ts and the commit-items tests).
 */
function oneLane(args: readonly string[]): readonly string[] {
  return args[0] === 'run' && !args.includes('--concurrency') ? [...args, '--concurrency', '1'] : args;
}
