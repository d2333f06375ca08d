/**
 * The standard script of SPEC §8 over 20,000 users in 40 overlapping batches, through the real
 * sandbox process: every outcome comes back, in order, and right. Speed is `npm run bench`'s
 * business, not a timed test's.
 */
import { expect, it } from 'vitest';
import type { SandboxJob } from '../../src/sandbox/protocol.js';
import { usingSandbox } from '../../src/sandbox/using-sandbox.js';
import { encodeJobs } from '../../src/sandbox/encode-jobs.js';
import { IsolateSession } from '../../src/sandbox/isolate-session.js';

const STANDARD = `user.email = user.username + '@example.net';
user.profile_add('gold');
user.attribute_add('Session-Timeout', 3600, ':=');
user.check_attribute_add('Max-Daily-Session', 4);
user.attr.set('plan', { tier: 'gold' });`;

function job(seq: number): SandboxJob {
  return {
    seq,
    row: null,
    user: {
      fields: {
        obj_id: seq,
        username: `user${seq}`,
        username_length: 8,
        first_name: 'First',
        last_name: 'Last',
        email: `old${seq}@example.org`,
        external_id: `ext-${seq}`,
        klass: 'residential',
        is_active: true,
        date_joined: '2024-01-01T00:00:00.000Z',
        first_login: '2024-01-02T00:00:00.000Z',
        last_login: '2025-01-01T00:00:00.000Z',
        expiration: null,
        last_update: '2025-01-01T00:00:00.000Z',
        organization_id: 3,
        avatar_url: null,
        description: 'a user',
      },
      profiles: [{ id: 2, short_name: 'aaa-01', name: null, priority: 1 }],
      attributes: [{ id: 10, attr: 'Session-Timeout', op: ':=', value: '1800' }],
      check_attributes: [],
      attrs: [],
    },
  };
}

const SETUP = {
  source: STANDARD,
  filename: 'standard.js',
  params: {},
  profiles: [{ id: 1, short_name: 'gold', name: 'Gold' }],
  timeoutMs: 2000,
  memoryMb: 128,
  maxLogLines: 100,
};

it('runs 40 overlapping batches of the standard script, in order', async () => {
  const setup = SETUP;
  const batches = Array.from({ length: 40 }, (_, b) =>
    Array.from({ length: 500 }, (_, i) => job(b * 500 + i)),
  );
  await usingSandbox(setup, async (sandbox) => {
    const results = await Promise.all(batches.map((b) => sandbox.runBatch(b)));
    const outcomes = results.flat();
    expect(outcomes.every((o) => o.status === 'done' && o.attrs?.['plan']?.op === 'set')).toBe(true);
    expect(outcomes.map((o) => o.seq)).toEqual(batches.flat().map((j) => j.seq));
    expect(outcomes[123]?.fields).toEqual({ email: 'user123@example.net' });
    expect(outcomes[123]?.profiles).toEqual([
      { id: 2, priority: 1 },
      { id: 1, priority: 2 },
    ]);
  });
});

it("leaves no batch's text behind outside the isolate's heap, where its collector would not see it", async () => {
  const session = await IsolateSession.start(SETUP);
  try {
    // 20 batches of 500 users: about 6 MB of job text handed to the isolate in all.
    for (let b = 0; b < 20; b++) {
      const jobs = Array.from({ length: 500 }, (_, i) => job(b * 500 + i));
      let outcomes = 0;
      await session.runBatch(
        encodeJobs(jobs),
        jobs.length,
        0,
        (json) => (outcomes += (JSON.parse(json) as unknown[]).length),
        () => false,
      );
      expect(outcomes).toBe(500);
    }
    // Handed in as external strings, each batch stayed there until the isolate neared its limit.
    expect(session.externalBytes()).toBeLessThan(1024 * 1024);
  } finally {
    session.dispose();
  }
});
