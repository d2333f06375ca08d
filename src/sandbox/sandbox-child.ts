/**
 * Entry point of the sandbox process (`dist/sandbox/sandbox-child.js`), forked by
 * `SandboxProcess` with `--no-node-snapshot`. It holds no database and no secrets: it receives a
 * setup, then batches, and answers each over the IPC channel.
 */
import { BatchFailure } from './batch-failure.js';
import type { ChildMessage, HostMessage } from './child-messages.js';
import { IsolateRunner } from './isolate-runner.js';
import type { SandboxSetup } from './protocol.js';
import { ScriptSyntaxError } from './script-syntax-error.js';

let setup: SandboxSetup | undefined;
let runner: IsolateRunner | undefined;
let queue: Promise<void> = Promise.resolve();

function send(message: ChildMessage): void {
  process.send?.(message);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function handle(message: HostMessage): Promise<void> {
  if (message.type === 'setup') {
    setup = message.setup;
    try {
      runner = await IsolateRunner.create(setup);
      send({ type: 'ready' });
    } catch (e) {
      send({ type: 'setup-failed', syntax: e instanceof ScriptSyntaxError, message: messageOf(e) });
    }
    return;
  }
  const { id } = message;
  try {
    if (!setup) throw new BatchFailure('error', 'batch before setup');
    // The memory limit disposed the last isolate: start clean (globals set by scripts are gone).
    if (!runner || runner.disposed) runner = await IsolateRunner.create(setup);
    const json = await runner.runBatch(message.lines, message.count, (ms) => send({ type: 'busy', ms }));
    send({ type: 'result', id, json });
  } catch (e) {
    const failure = e instanceof BatchFailure ? e : new BatchFailure('error', messageOf(e));
    send({ type: 'batch-failed', id, reason: failure.reason, message: failure.message });
  }
}

process.on('message', (message: HostMessage) => {
  queue = queue.then(() => handle(message));
});
// The host is gone (it exited or killed the channel): nothing left to do.
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal signals the whole process group: the CLI decides what it means (finish
// the current user, then stop), so the sandbox must not die under it mid-batch.
process.on('SIGINT', () => undefined);
