import { describe, expect, it } from 'vitest';
import {
  NEVER_SETTLED_MESSAGE,
  memoryMessage,
  sandboxDiedMessage,
  timeoutMessage,
  unhandledRejectionMessage,
  watchdogMessage,
} from '../../src/sandbox/failure-messages.js';

describe('failure reasons', () => {
  it('each says what happened, with the limit and the flag where there is one', () => {
    const messages = [
      timeoutMessage(200),
      memoryMessage(64),
      NEVER_SETTLED_MESSAGE,
      unhandledRejectionMessage('Error: boom'),
      sandboxDiedMessage('running the script', 'signal SIGABRT: Fatal JavaScript invalid size error'),
      watchdogMessage('running the script', 3700),
    ];
    expect(messages[0]).toBe('script timed out after 200 ms (--timeout raises the limit)');
    expect(messages[1]).toBe('script exceeded the memory limit of 64 MB (--memory raises the limit)');
    expect(messages[2]).toMatch(/^script never finished: its promise was still pending/);
    expect(messages[3]).toBe('unhandled promise rejection: Error: boom');
    expect(messages[4]).toBe(
      'the sandbox process died while running the script (signal SIGABRT: Fatal JavaScript invalid size error)',
    );
    expect(messages[5]).toMatch(
      /^the sandbox process was killed by the wall-clock watchdog after 3700 ms while running the script/,
    );
    // No two reasons read alike: each starts differently.
    expect(new Set(messages.map((m) => m.split(' ').slice(0, 4).join(' '))).size).toBe(messages.length);
  });
});
