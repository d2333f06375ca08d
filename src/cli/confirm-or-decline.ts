import { DeclinedError } from '../errors.js';
import type { Io } from './io.js';

/** Exit code of an answered "no" (or Ctrl-D) at a confirmation: not a usage error (2). */
export const DECLINED_EXIT_CODE = 1;

/**
 * Asks `question` on the terminal and returns when the answer is yes; otherwise throws a
 * `DeclinedError` (exit 1, or 130 for Ctrl-C), so every prompt ends the same way.
 */
export async function confirmOrDecline(io: Io, question: string): Promise<void> {
  const ok = await io.confirm(question);
  if (!ok) throw new DeclinedError(DECLINED_EXIT_CODE, 'declined: nothing was changed');
}
