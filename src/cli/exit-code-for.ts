import { CommanderError } from 'commander';
import { DeclinedError, ExitError, InternalError, UsageError } from '../errors.js';
import type { Io } from './io.js';

/** Turns whatever a command threw into an exit code and a message: the only error handler. */
export function exitCodeFor(error: unknown, io: Io): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (or the help/version text).
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UsageError || error instanceof DeclinedError) {
    io.err(`${io.errColor.red('usrun:')} ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof ExitError) return error.exitCode;
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  const kind = error instanceof InternalError ? 'internal error' : 'unexpected error';
  io.err(`usrun: ${kind} (please report it): ${detail}\n`);
  return 70;
}
