import { spawn, spawnSync } from 'node:child_process';
import { collectOutput, ROOT, USRUN, type CliResult } from './cli.js';

/** The unprivileged account the read-only tests run the CLI as (`nobody`, uid 65534). */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

const AS_NOBODY = ['setpriv', `--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups'];
/**
 * Root without the capabilities that bypass file permissions: bound by the mode bits like any
 * user (a file of mode 444 or a folder of mode 555 is read-only to it).
 */
const AS_ROOT_WITHOUT_DAC = [
  'setpriv',
  '--inh-caps=-all',
  '--ambient-caps=-all',
  '--bounding-set=-dac_override,-dac_read_search,-fowner',
];

function works(prefix: readonly string[]): boolean {
  const [command = '', ...args] = prefix;
  return spawnSync(command, [...args, USRUN, '--version'], { encoding: 'utf8' }).status === 0;
}

/**
 * How to start the CLI as a user that cannot write what it does not own: `nobody` when it can
 * reach this checkout (a checkout under /root cannot be), else root stripped of
 * CAP_DAC_OVERRIDE. Which one ran is in `as`; tests build their files to suit either (owned
 * by root, mode bits deciding). `USRUN_TEST_UNPRIVILEGED=root-without-dac` forces the second.
 */
export const UNPRIVILEGED: { prefix: readonly string[]; as: 'nobody' | 'root-without-dac' } | null =
  process.getuid?.() !== 0
    ? null
    : works(AS_NOBODY) && process.env['USRUN_TEST_UNPRIVILEGED'] !== 'root-without-dac'
      ? { prefix: AS_NOBODY, as: 'nobody' }
      : works(AS_ROOT_WITHOUT_DAC)
        ? { prefix: AS_ROOT_WITHOUT_DAC, as: 'root-without-dac' }
        : null;

/** Runs the real CLI as the unprivileged user (see `UNPRIVILEGED`), without a TTY. */
export function runCliUnprivileged(
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<CliResult> {
  if (!UNPRIVILEGED) throw new Error('no way to run the CLI unprivileged here (the tests must run as root)');
  const [command = '', ...prefix] = UNPRIVILEGED.prefix;
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', HOME: '/nonexistent' };
  delete env['USRUN_DB'];
  delete env['USRUN_KEY'];
  const child = spawn(command, [...prefix, USRUN, ...args], {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  return collectOutput(child);
}

/** Runs any command as the unprivileged user: true when it succeeded. */
export function succeedsUnprivileged(command: string, args: readonly string[]): boolean {
  if (!UNPRIVILEGED) throw new Error('no way to run unprivileged here (the tests must run as root)');
  const [setpriv = '', ...prefix] = UNPRIVILEGED.prefix;
  return spawnSync(setpriv, [...prefix, command, ...args], { encoding: 'utf8' }).status === 0;
}
