import type { BatchFailureReason } from './batch-failure.js';
import type { SandboxSetup } from './protocol.js';

/** Host → sandbox process. One batch at a time: the next is sent after the reply to the last. */
export type HostMessage =
  | { type: 'setup'; setup: SandboxSetup }
  /** `lines`: one job per line, see encodeJobs. Outcomes come back in slices of `sliceMs`. */
  | { type: 'batch'; id: number; lines: string; count: number; sliceMs: number }
  /** Run no further job of the batch: answer `done` after the slice in hand. */
  | { type: 'cancel'; id: number };

/** Sandbox process → host. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'setup-failed'; syntax: boolean; message: string }
  /** Sent before every call into the isolate: it must end within `ms` (plus grace) or be killed. */
  | { type: 'busy'; ms: number; what?: string }
  /** `json`: the `SandboxOutcome[]` of the batch's next jobs, in order. */
  | { type: 'slice'; id: number; json: string }
  /** The batch is over: every job has its outcome, or the batch was cancelled. */
  | { type: 'done'; id: number }
  | { type: 'batch-failed'; id: number; reason: BatchFailureReason; message: string };
