import { ExitError } from '../errors.js';
import type { StoreDriver } from '../store/driver.js';
import type { Io } from './io.js';

/**
 * A connection to the server lost in the middle of a command that writes (a run, an undo): one
 * clear message — what was committed stays, the open group died with the connection, all or
 * nothing — and how to finish, then exit 3. Null when `error` is something else.
 */
export function lostConnection(
  error: unknown,
  store: StoreDriver,
  io: Io,
  finish: { what: string; command: string } | null,
): ExitError | null {
  if (store.capabilities.classifyError(error).kind !== 'connection-lost') return null;
  // store.location: the URL without its password, which is never printed.
  io.err(
    `usrun: lost the connection to ${store.location}: ${error instanceof Error ? error.message : String(error)}\n` +
      (finish
        ? `usrun: what was committed stays; once the server is back, ${finish.what}: ${finish.command}\n`
        : ''),
  );
  return new ExitError(3);
}
