import type { RunStatus } from '../journal/run-record.js';
import type { ItemResult } from '../model/item-result.js';

/**
 * The one stop rule of run, resume and undo. An interrupt (Ctrl-C, SIGTERM, SIGHUP) starts no new
 * user but commits every one that has finished; `--max-errors` halts at once after the Nth
 * failure of this session (outcomes already computed are dropped, and a resume runs them again).
 */
export class RunControl {
  private reason: 'interrupted' | 'stopped' | null = null;
  private failed = 0;

  constructor(private readonly maxErrors?: number) {}

  /** Ctrl-C and friends: finish what is in the sandbox, commit, stop. */
  interrupt(): void {
    this.reason ??= 'interrupted';
  }

  /** True once any stop was asked for: start nothing new. */
  get stopping(): boolean {
    return this.reason !== null;
  }

  /** True when committing must end now (max errors reached). */
  get halted(): boolean {
    return this.reason === 'stopped';
  }

  /** Counts a committed item's failure against `--max-errors` (this session's failures only). */
  count(result: ItemResult): void {
    if (result.status !== 'failed') return;
    this.failed += 1;
    if (this.maxErrors !== undefined && this.failed >= this.maxErrors) this.reason ??= 'stopped';
  }

  /** Failed items committed in this session. */
  get failures(): number {
    return this.failed;
  }

  /** How the run ended, for the journal. */
  get status(): RunStatus {
    return this.reason ?? 'completed';
  }
}
