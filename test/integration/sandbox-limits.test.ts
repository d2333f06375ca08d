/**
 * Syntax errors, timeouts, the memory limit and the cases isolated-vm cannot contain by itself
 * (a builtin that ignores the timeout, an allocation that takes V8 down): only the guilty user
 * fails, the others of its batch succeed, and the sandbox keeps working. Real sandbox processes,
 * forked from dist/ (which `npm test` builds first).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { SandboxOutcome, SandboxSetup, UserSnapshot } from '../../src/sandbox/protocol.js';
import { type Sandbox, usingSandbox } from '../../src/sandbox/using-sandbox.js';

function setup(source: string, over: Partial<SandboxSetup> = {}): SandboxSetup {
  return {
    source,
    filename: 'limits.js',
    params: {},
    profiles: [],
    timeoutMs: 200,
    memoryMb: 64,
    maxLogLines: 10,
    ...over,
  };
}

const USER: UserSnapshot = {
  fields: { obj_id: 1, username: 'u', email: null, is_active: true },
  profiles: [],
  attributes: [],
  check_attributes: [],
  attrs: [],
};

let seq = 0;
function batch(sandbox: Sandbox, modes: string[]): Promise<SandboxOutcome[]> {
  return sandbox.runBatch(modes.map((mode) => ({ seq: ++seq, user: USER, row: { mode } })));
}

const TIMED_OUT = 'script timed out after 200 ms (--timeout raises the limit)';
const WATCHDOG =
  /^the sandbox process was killed by the wall-clock watchdog after \d+ ms while running the script \(/;

/** The sandbox processes this test process has forked and that are still there. */
function sandboxChildren(): number[] {
  return execFileSync('ps', ['-o', 'pid=,stat=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('sandbox-child') && !/^\s*\d+\s+Z/.test(line))
    .map((line) => Number.parseInt(line, 10));
}

const summary = (outcomes: SandboxOutcome[]): [string, string | undefined][] =>
  outcomes.map((o) => [o.status, o.status === 'done' ? o.fields?.['email']?.toString() : o.message]);

/** Sets `email` to the mode, after whatever the mode does. */
const SCRIPT = `
switch (row.mode) {
  case 'loop': while (true) {}
  case 'slow': { const t = Date.now(); while (Date.now() - t < 70) {} break; }
  case 'slower': { const t = Date.now(); while (Date.now() - t < 400) {} break; }
  case 'grow': { const a = []; for (;;) a.push(new Array(1e5)); }
  case 'bigint': BigInt('7'.repeat(6e7)); break;
  case 'fill': new Array(2e8).fill(0); break;
}
user.email = row.mode + '@example.net';
`;

describe('syntax errors', () => {
  it.each([
    [
      'const a = 1;\nconst b = 2;\nlet c = = 3;',
      "bad.js:3:9: SyntaxError: Unexpected token '='\n  let c = = 3;\n          ^",
    ],
    [
      "if (user.is_active) {\n  user.email = 'a@example.net';",
      "bad.js:2:32: SyntaxError: Unexpected end of input\n    user.email = 'a@example.net';\n                                 ^",
    ],
    [
      'with (user) { email = 1; }',
      /^bad\.js:1:1: SyntaxError: Strict mode code may not include a with statement\n {2}with \(user\) \{ email = 1; \}\n {2}\^$/,
    ],
    ['}); globalThis.escaped = true; (function () {', /^bad\.js:1:1: SyntaxError: /],
  ])(
    'are reported as file:line:col, with the line and a caret, before any user runs: %j',
    async (source, message) => {
      const fn = vi.fn(async () => undefined);
      const error = await usingSandbox(setup(source, { filename: 'bad.js' }), fn).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      if (typeof message === 'string') expect((error as Error).message).toBe(message);
      else expect((error as Error).message).toMatch(message);
      expect(fn).not.toHaveBeenCalled();
    },
  );

  it('allows a top-level return', async () => {
    const outcomes = await usingSandbox(
      setup(`user.email = 'a@example.net';\nreturn;\nuser.email = 'b@example.net';`),
      (s) => batch(s, ['x']),
    );
    expect(summary(outcomes)).toEqual([['done', 'a@example.net']]);
  });

  it('refuses impossible limits', async () => {
    await expect(usingSandbox(setup('', { memoryMb: 4 }), async () => undefined)).rejects.toThrow(UsageError);
    await expect(usingSandbox(setup('', { timeoutMs: 0 }), async () => undefined)).rejects.toThrow(
      UsageError,
    );
  });
});

describe('limits', () => {
  it('a timeout fails only the user that ran out of time', async () => {
    await usingSandbox(setup(SCRIPT), async (sandbox) => {
      expect(summary(await batch(sandbox, ['a', 'loop', 'b', 'c']))).toEqual([
        ['done', 'a@example.net'],
        ['failed', TIMED_OUT],
        ['done', 'b@example.net'],
        ['done', 'c@example.net'],
      ]);
      // Four users of 70 ms each exceed one 200 ms call together, but none of them alone.
      expect(summary(await batch(sandbox, ['slow', 'slow', 'slow', 'slow', 'loop']))).toEqual([
        ['done', 'slow@example.net'],
        ['done', 'slow@example.net'],
        ['done', 'slow@example.net'],
        ['done', 'slow@example.net'],
        ['failed', TIMED_OUT],
      ]);
    });
  });

  it('the memory limit fails only the user that hit it, and the next batch runs in a new isolate', async () => {
    await usingSandbox(setup(SCRIPT, { timeoutMs: 5000 }), async (sandbox) => {
      const first = batch(sandbox, ['a', 'grow', 'b']);
      const second = batch(sandbox, ['c']); // issued before the first resolves: queued
      expect(summary(await first)).toEqual([
        ['done', 'a@example.net'],
        ['failed', 'script exceeded the memory limit of 64 MB (--memory raises the limit)'],
        ['done', 'b@example.net'],
      ]);
      expect(summary(await second)).toEqual([['done', 'c@example.net']]);
    });
  });

  it('a builtin that ignores the timeout gets the process killed, failing only its user', async () => {
    await usingSandbox(setup(SCRIPT), async (sandbox) => {
      const started = Date.now();
      expect(summary(await batch(sandbox, ['a', 'bigint', 'b']))).toEqual([
        ['done', 'a@example.net'],
        ['failed', expect.stringMatching(WATCHDOG) as unknown as string],
        ['done', 'b@example.net'],
      ]);
      // Killed at its deadline (the message says it was the watchdog), not left to run its ~10 s;
      // the bound leaves room for a loaded machine.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(summary(await batch(sandbox, ['c']))).toEqual([['done', 'c@example.net']]);
    });
  });

  it('an allocation that can take V8 down fails only its user', async () => {
    await usingSandbox(setup(SCRIPT), async (sandbox) => {
      const outcomes = await batch(sandbox, ['a', 'fill', 'b']);
      expect(summary([outcomes[0]!, outcomes[2]!])).toEqual([
        ['done', 'a@example.net'],
        ['done', 'b@example.net'],
      ]);
      expect(outcomes[1]?.status).toBe('failed');
      expect(outcomes[1]?.message).toMatch(
        /^(script timed out after 200 ms|script exceeded the memory limit of 64 MB|the sandbox process died while running the script \(.+\)$|the sandbox process was killed by the wall-clock watchdog)/,
      );
      expect(summary(await batch(sandbox, ['c']))).toEqual([['done', 'c@example.net']]);
    });
  });

  it('a sandbox process that dies mid-batch is replaced and the batch completes', async () => {
    await usingSandbox(setup(SCRIPT, { timeoutMs: 5000 }), async (sandbox) => {
      const running = batch(sandbox, ['a', 'slower', 'b']);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const children = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter((line) => line.includes('sandbox-child'))
        .map((line) => Number.parseInt(line, 10));
      expect(children).toHaveLength(1);
      process.kill(children[0] ?? 0, 'SIGKILL');
      expect(summary(await running)).toEqual([
        ['done', 'a@example.net'],
        ['done', 'slower@example.net'],
        ['done', 'b@example.net'],
      ]);
    });
  });

  it('a sandbox closed while its replacement process starts kills the replacement too', async () => {
    // A worker paused past the watchdog's deadline (SIGSTOP, then SIGCONT) gets its sandbox
    // killed and a new one started, and may stop on an error (a lost chunk) at that very moment:
    // a replacement left running kept the CLI alive, idle, after its error message.
    const killed: number[] = [];
    let running: Promise<SandboxOutcome[]> | undefined;
    try {
      await usingSandbox(setup(SCRIPT, { timeoutMs: 5000 }), async (sandbox) => {
        running = batch(sandbox, ['a', 'slower', 'b']);
        await new Promise((resolve) => setTimeout(resolve, 150));
        const [first] = sandboxChildren();
        killed.push(first ?? 0);
        process.kill(first ?? 0, 'SIGKILL');
        // The replacement is forked: close the sandbox before it is ready.
        for (let i = 0; i < 500 && !sandboxChildren().some((pid) => !killed.includes(pid)); i++) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        expect(sandboxChildren().filter((pid) => !killed.includes(pid))).toHaveLength(1);
      });
      await expect(running).rejects.toThrow('the sandbox was closed');
      for (let i = 0; i < 100 && sandboxChildren().length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(sandboxChildren()).toEqual([]);
    } finally {
      for (const pid of sandboxChildren()) process.kill(pid, 'SIGKILL');
    }
  });

  it('a batch left behind when the run stops early rejects after close, never unhandled', async () => {
    let abandoned: Promise<SandboxOutcome[]> | undefined;
    let queued: Promise<SandboxOutcome[]> | undefined;
    await usingSandbox(setup(SCRIPT, { timeoutMs: 5000 }), async (sandbox) => {
      abandoned = batch(sandbox, ['slower']);
      queued = batch(sandbox, ['a']);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(abandoned).rejects.toThrow('the sandbox was closed before this batch finished');
    await expect(queued).rejects.toThrow('the sandbox was closed before this batch finished');
  });
});
