import type { BatchFailureReason } from './batch-failure.js';
import type { SandboxSetup } from './protocol.js';

/** Host → sandbox process. One batch at a time: the next is sent after the reply to the last. */
export type HostMessage =
  | { type: 'setup'; setup: SandboxSetup }
  /** `lines`: one job per line, see encodeJobs. */
  | { type: 'batch'; id: number; lines: string; count: number };

/** Sandbox process → host. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'setup-failed'; syntax: boolean; message: string }
  /** Sent before every call into the isolate: it must end within `ms` (plus grace) or be killed. */
  | { type: 'busy'; ms: number; what?: string }
  /** `json` is the `SandboxOutcome[]` of the batch, one per job in order. */
  | { type: 'result'; id: number; json: string }
  | { type: 'batch-failed'; id: number; reason: BatchFailureReason; message: string };
