/**
 * The words of every failure usrun reports for a user it could not run to the end, in one place
 * so each reason reads differently and says which limit or flag is involved. No imports: the
 * prelude evaluates this file in the isolate too.
 */

/** The script ran longer than `--timeout` (isolated-vm stopped it; its timeout is wall-clock time). */
export function timeoutMessage(timeoutMs: number): string {
  return 'script timed out after ' + timeoutMs + ' ms (--timeout raises the limit)';
}

/** The isolate passed its heap limit and was disposed. */
export function memoryMessage(memoryMb: number): string {
  return 'script exceeded the memory limit of ' + memoryMb + ' MB (--memory raises the limit)';
}

/** The script's promise was still pending once nothing else was left to run. */
export const NEVER_SETTLED_MESSAGE =
  'script never finished: its promise was still pending when nothing was left to run (it awaits something that never settles; the sandbox has no timers, I/O or events)';

/** A promise the script rejected and never handled. */
export function unhandledRejectionMessage(detail: string): string {
  return 'unhandled promise rejection: ' + detail;
}

/** The sandbox process exited while it ran the user (a V8 abort, a signal). */
export function sandboxDiedMessage(doing: string, detail: string): string {
  return 'the sandbox process died while ' + doing + ' (' + detail + ')';
}

/** The wall-clock watchdog killed the sandbox process: a builtin ignored the timeout. */
export function watchdogMessage(doing: string, deadlineMs: number): string {
  return (
    'the sandbox process was killed by the wall-clock watchdog after ' +
    deadlineMs +
    ' ms while ' +
    doing +
    ' (something that ignores the --timeout, such as a huge BigInt or array operation)'
  );
}
