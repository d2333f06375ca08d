import type { Io } from './io.js';

/**
 * Ctrl-C during a run or undo: the first press asks the loop to stop after the current user
 * (which commits); the second leaves at once with exit 3. No transaction is ever open while
 * this handler runs (better-sqlite3 transactions are synchronous), so nothing half-written
 * remains; the run stays `running` with a dead pid, which `--resume` accepts.
 */
export function watchSigint(
  io: Io,
  control: { stopRequested: boolean },
  note: (text: string) => void,
): { dispose(): void } {
  const onSigint = () => {
    if (control.stopRequested) {
      io.err('\nusrun: aborted\n');
      // The one exit outside main: a second Ctrl-C must not wait for anything.
      process.exit(3);
    }
    control.stopRequested = true;
    note('\nusrun: stopping after the current user (Ctrl-C again to abort now)\n');
  };
  process.on('SIGINT', onSigint);
  return { dispose: () => void process.off('SIGINT', onSigint) };
}
