import { UsageError } from '../errors.js';
import { NO_KEY_FAILURE, type SandboxOutcome } from '../sandbox/protocol.js';

const HINT = 'set USRUN_KEY (32 bytes, base64 or hex) or pass --key-file';

/**
 * After the first batch ran, before anything is committed or journaled: what the script actually
 * did is the reliable test (reading the source is not: `set(name, value, null, true)` does not
 * say "encrypt"). If any user of it encrypted, or read an encrypted attr, without a key, the
 * whole run is refused (exit 2). A later user that does so only fails itself: the host never
 * stores plaintext for an encrypt request (`plan-user-changes.ts`).
 */
export function checkKeyNeededByOutcomes(outcomes: readonly SandboxOutcome[], hasKey: boolean): void {
  if (hasKey) return;
  for (const o of outcomes) {
    if (o.status === 'failed' && (o.message ?? '').includes(NO_KEY_FAILURE)) {
      throw new UsageError(
        `this script reads encrypted attributes and no key was given: ${HINT} (${o.message})`,
      );
    }
    if (
      o.status === 'done' &&
      o.attrs &&
      Object.values(o.attrs).some((w) => w.op === 'set' && w.encrypt === true)
    ) {
      throw new UsageError(`this script encrypts attributes and no key was given: ${HINT}`);
    }
  }
}
