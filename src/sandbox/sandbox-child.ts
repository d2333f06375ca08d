/**
 * Entry point of the sandbox process (`dist/sandbox/sandbox-child.js`), forked by
 * `SandboxProcess` with `--no-node-snapshot`. It holds no database and no secrets: it receives a
 * setup, then batches, and answers each over the IPC channel.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BatchFailure } from './batch-failure.js';
import type { ChildMessage, HostMessage } from './child-messages.js';
import { IsolateRunner } from './isolate-runner.js';
import type { SandboxSetup } from './protocol.js';
import { ScriptSyntaxError } from './script-syntax-error.js';
import { JOB_SEQ } from './wire-format.js';

/**
 * Each batch's outcomes come out of the isolate as one large string, which isolated-vm copies
 * into external memory of this process. V8 counts it but, with a small JS heap, does not collect
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
    const json = await runBatch(setup, message.lines, message.count);
    send({ type: 'result', id, json });
    collectCopiedStrings();
  } catch (e) {
    const failure = e instanceof BatchFailure ? e : new BatchFailure('error', messageOf(e));
    send({ type: 'batch-failed', id, reason: failure.reason, message: failure.message });
  }
}

/** How often the host hears that calls into the isolate go on (its watchdog's deadline). */
const ANNOUNCE_EVERY_MS = 250;
let announced = 0;
let lastWhat = '';

/**
 * Tells the host a call of up to `ms` is about to start, doing `what`, unless it was told the same
 * within ANNOUNCE_EVERY_MS: its deadline (announcement + ms + a grace of more than a second) then still
 * covers the call.
 */
function announce(ms: number, what: string, force = false): void {
  const now = Date.now();
  if (!force && what === lastWhat && now - announced < ANNOUNCE_EVERY_MS) return;
  announced = now;
  lastWhat = what;
  send({ type: 'busy', ms, what });
}

/**
 * Runs every job of a batch, one user at a time, and returns their outcomes as one JSON array.
 * A job that hit the memory limit or its timeout fails alone; the isolate is then replaced (a
 * fresh one, loaded with the same batch) before the next job.
 */
async function runBatch(s: SandboxSetup, lines: string, count: number): Promise<string> {
  let split: string[] | undefined;
  const seqOf = (i: number): number => {
    split ??= lines.split('\n');
    return Number((JSON.parse(split[i] ?? '[]') as unknown[])[JOB_SEQ]);
  };
  let out = '[';
  let loaded = false;
  announce(s.timeoutMs, 'starting a batch', true);
  for (let i = 0; i < count; i++) {
    if (!runner || runner.disposed) {
      announce(Math.max(s.timeoutMs, 10_000), 'starting a fresh isolate', true);
      // The last isolate is gone: start clean (globals set by scripts are gone).
      runner = await IsolateRunner.create(s);
      loaded = false;
    }
    if (!loaded) {
      if (runner.load(lines) !== count) throw new BatchFailure('error', 'the sandbox read a different number of jobs');
      loaded = true;
    }
    announce(s.timeoutMs, 'running the script');
    const result = runner.runJob(i, () => seqOf(i));
    out += (i === 0 ? '' : ',') + result.text;
    if (result.broken) runner.dispose();
  }
  return out + ']';
}

process.on('message', (message: HostMessage) => {
  queue = queue.then(() => handle(message));
});
// The host is gone (it exited or killed the channel): nothing left to do.
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal signals the whole process group: the CLI decides what it means (finish
// the current user, then stop), so the sandbox must not die under it mid-batch.
process.on('SIGINT', () => undefined);
