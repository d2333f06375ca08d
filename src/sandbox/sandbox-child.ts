/**
 * Entry point of the sandbox process (`dist/sandbox/sandbox-child.js`), forked by
 * `SandboxProcess` with `--no-node-snapshot`. It holds no database and no secrets: it receives a
 * setup, then batches, and answers each over the IPC channel.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BatchFailure } from './batch-failure.js';
import type { ChildMessage, HostMessage } from './child-messages.js';
import { IsolateSession } from './isolate-session.js';
import { ScriptSyntaxError } from './script-syntax-error.js';

/**
 * Each user's outcome comes out of the isolate as a string that isolated-vm copies into external
 * memory of this process. V8 counts it but, with a small JS heap, does not collect
 * it: left alone, the process grows by about 16 MB per 100,000 users. A full GC once external
 * memory passes this mark keeps it flat.
 */
const EXTERNAL_GC_BYTES = 32 * 1024 * 1024;

// gc() without --expose-gc on the command line: that flag would also put `gc` into every isolate
// context. It is switched on just long enough to take the function from a throwaway context,
// before any isolate exists.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
setFlagsFromString('--no-expose-gc');

function collectCopiedStrings(): void {
  if (process.memoryUsage().external > EXTERNAL_GC_BYTES) gc();
}

let session: IsolateSession | undefined;
let queue: Promise<void> = Promise.resolve();

function send(message: ChildMessage): void {
  process.send?.(message);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function handle(message: HostMessage): Promise<void> {
  if (message.type === 'setup') {
    try {
      session = await IsolateSession.start(message.setup, (ms, what) => send({ type: 'busy', ms, what }));
      send({ type: 'ready' });
    } catch (e) {
      send({ type: 'setup-failed', syntax: e instanceof ScriptSyntaxError, message: messageOf(e) });
    }
    return;
  }
  if (message.type === 'cancel') return;
  const { id } = message;
  try {
    if (!session) throw new BatchFailure('error', 'batch before setup');
    if (cancelled.has(id)) {
      send({ type: 'done', id });
      return;
    }
    await session.runBatch(
      message.lines,
      message.count,
      message.sliceMs,
      (json) => {
        send({ type: 'slice', id, json });
        collectCopiedStrings();
      },
      () => cancelled.has(id),
    );
    send({ type: 'done', id });
  } catch (e) {
    const failure = e instanceof BatchFailure ? e : new BatchFailure('error', messageOf(e));
    send({ type: 'batch-failed', id, reason: failure.reason, message: failure.message });
  } finally {
    cancelled.delete(id);
  }
}

/** Batches the host cancelled: noted at once, while the batch runs, and honoured between slices. */
const cancelled = new Set<number>();

process.on('message', (message: HostMessage) => {
  if (message.type === 'cancel') cancelled.add(message.id);
  else queue = queue.then(() => handle(message));
});
// The host is gone (it exited or killed the channel): nothing left to do.
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal signals the whole process group: the CLI decides what it means (finish
// the current user, then stop), so the sandbox must not die under it mid-batch.
process.on('SIGINT', () => undefined);
