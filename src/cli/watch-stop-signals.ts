import type { RunControl } from '../run/run-control.js';
import type { Io } from './io.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Ctrl-C (or SIGTERM, SIGHUP) during a run or undo: the first asks the run to start no new user,
 * let the one in the sandbox finish, commit everything finished and stop. The second leaves at
 * once with exit 3: the open group's transaction dies with the process (nothing of it is
 * written, journal included), the run stays `running` with a dead pid, and `--resume` takes it.
 */
export function watchStopSignals(
  io: Io,
  control: RunControl,
  note: (text: string) => void,
  resumeHint: () => string | null,
): { dispose(): void } {
  const onSignal = (signal: NodeJS.Signals) => {
    if (control.stopping) {
      const hint = resumeHint();
      io.err(`\nusrun: aborted (${signal})${hint ? `; continue the run with: ${hint}` : ''}\n`);
      // The one exit outside main: a second signal must not wait for anything.
      process.exit(3);
    }
    control.interrupt();
    note(`\nusrun: stopping after the users in hand (${signal} again to abort now)\n`);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return { dispose: () => SIGNALS.forEach((signal) => process.off(signal, onSignal)) };
}
