/** Why a batch produced no outcomes: the host then re-runs its jobs one at a time. */
export type BatchFailureReason = 'timeout' | 'memory' | 'died' | 'error';

/**
 * A batch that could not finish: a job exceeded the memory limit (the isolate is gone), ran past
 * every timeout, or took the sandbox process down. It does not say which job did it.
 */
export class BatchFailure extends Error {
  override readonly name = 'BatchFailure';
  constructor(
    readonly reason: BatchFailureReason,
    message: string,
    /** What the sandbox process said it was doing last (`running the script`), when known. */
    readonly doing?: string,
    /** For a process killed by the watchdog: the deadline it overran, in ms. */
    readonly deadlineMs?: number,
  ) {
    super(message);
  }
}
