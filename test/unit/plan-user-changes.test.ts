import { describe, expect, it } from 'vitest';
import { planUserChanges, RejectedChange, type PlanContext } from '../../src/run/plan-user-changes.js';
import type { SandboxOutcome } from '../../src/sandbox/protocol.js';
import type { StoredUser } from '../../src/store/load-users.js';

const now = new Date('2026-06-01T00:00:00.000Z');
const ctx: PlanContext = {
  profiles: new Map([
    [1, { short_name: 'aaa-01' }],
    [2, { short_name: 'gold' }],
  ]),
  now,
  cipher: null,
};

function stored(): StoredUser {
  return {
    id: 7,
    version: 0,
    fields: {
      obj_id: 7,
      username: 'alice',
      email: 'A@x.net',
      is_active: true,
      last_update: null,
      expiration: null,
      date_joined: '2025-01-01T00:00:00.000Z',
    },
    profiles: [{ id: 1, short_name: 'aaa-01', name: 'Basic', priority: 1 }],
    attributes: [{ id: 10, attr: 'Session-Timeout', op: ':=', value: '3600' }],
    check_attributes: [],
    attrs: [
      { name: 'plan', value: '"silver"', is_encrypted: false, expires_at: null },
      { name: 'old', value: '1', is_encrypted: false, expires_at: '2026-01-01T00:00:00.000Z' },
    ],
  };
}

const outcome = (extra: Partial<SandboxOutcome>): SandboxOutcome => ({
  seq: 0,
  status: 'done',
  logs: [],
  ...extra,
});

describe('planUserChanges', () => {
  it('turns assigned fields into changes and adds last_update', () => {
    const changes = planUserChanges(
      stored(),
      outcome({ fields: { email: 'a@x.net', is_active: true } }),
      ctx,
    );
    expect(changes).toEqual([
      { kind: 'field', target: 'email', before: 'A@x.net', after: 'a@x.net' },
      { kind: 'field', target: 'last_update', before: null, after: now.toISOString(), auto: true },
    ]);
  });

  it('returns no change (and no last_update) when nothing differs', () => {
    expect(
      planUserChanges(
        stored(),
        outcome({ fields: { email: 'A@x.net' }, profiles: [{ id: 1, priority: 1 }] }),
        ctx,
      ),
    ).toEqual([]);
  });

  it('normalizes timestamps and keeps a script-set last_update', () => {
    const changes = planUserChanges(
      stored(),
      outcome({ fields: { expiration: '2026-07-01T02:00:00+02:00', last_update: '2026-01-01' } }),
      ctx,
    );
    expect(changes.map((c) => [c.target, c.after])).toEqual([
      ['expiration', '2026-07-01T00:00:00.000Z'],
      ['last_update', '2026-01-01T00:00:00.000Z'],
    ]);
  });

  it.each([
    [{ fields: { obj_id: 9 } }, 'read-only'],
    [{ fields: { date_joined: '2020-01-01' } }, 'read-only'],
    [{ fields: { emial: 'x' } }, 'unknown field'],
    [{ fields: { EMAIL: 'x' } }, 'unknown field'],
    [{ fields: { email: 5 } }, 'expected a string'],
    [{ fields: { username: '' } }, 'cannot be empty'],
    [{ fields: { username: 'x'.repeat(65) } }, 'longer than 64'],
    [{ fields: { is_active: 'yes' } }, 'true or false'],
    [{ fields: { is_active: null } }, 'cannot be null'],
    [{ fields: { username_length: 1.5 } }, 'integer'],
    [{ fields: { expiration: 'tomorrow' } }, 'ISO-8601'],
    [{ profiles: [{ id: 99, priority: 1 }] }, 'no profile with id 99'],
    [
      {
        profiles: [
          { id: 1, priority: 1 },
          { id: 1, priority: 2 },
        ],
      },
      'listed twice',
    ],
    [{ profiles: 'gold' }, 'expected a list'],
    [{ attributes: [{ id: 999, attr: 'Session-Timeout', op: ':=', value: '1' }] }, 'unknown row id 999'],
    [{ attributes: [{ id: null, attr: 'X', op: '==', value: '1' }] }, 'not one of'],
    [
      { attributes: [{ id: null, attr: 'X; DROP TABLE users', op: '=', value: '1' }] },
      'invalid attribute name',
    ],
    [{ check_attributes: [{ id: null, attr: 'X', op: '=', value: 'v'.repeat(254) }] }, 'at most 253'],
    [
      { attrs: { plan: { op: 'set', json: '{not json', expiration: null, encrypt: false } } },
      'not valid JSON',
    ],
    [{ attrs: { plan: { op: 'set', json: '1', expiration: null, encrypt: true } } }, 'needs a key'],
    [{ attrs: { plan: { op: 'set', json: '1', expiration: -5, encrypt: false } } }, 'positive number'],
    [{ attrs: { nope: { op: 'expiry', expiration: 10 } } }, 'missing attribute'],
    [{ attrs: { ['x'.repeat(201)]: { op: 'delete' } } }, '1 to 200'],
    // The sandbox's own value rules, applied again to what came out of it.
    [
      {
        attrs: {
          plan: { op: 'set', json: JSON.stringify('é'.repeat(40_000)), expiration: null, encrypt: false },
        },
      },
      'attr plan: value makes the value larger than 65536 bytes of JSON',
    ],
    [
      {
        attrs: {
          plan: { op: 'set', json: '['.repeat(70) + ']'.repeat(70), expiration: null, encrypt: false },
        },
      },
      'is nested deeper than 64 levels',
    ],
    [{ fields: { expiration: '2026-02-30T00:00:00Z' } }, 'field expiration: expected an ISO-8601 timestamp'],
    [{ fields: { expiration: '2026-01-01T24:00:00Z' } }, 'field expiration: expected an ISO-8601 timestamp'],
    [{ fields: { username_length: Number.NaN } }, 'field username_length: expected an integer'],
    [{ fields: { username: '😀'.repeat(65) } }, 'field username: longer than 64 characters'],
    [
      { attributes: [{ id: null, attr: 'Class', op: '=', value: '😀'.repeat(254) }] },
      'at most 253 characters (got 254)',
    ],
  ])('rejects forged or invalid output %j', (extra, message) => {
    expect(() => planUserChanges(stored(), outcome(extra as Partial<SandboxOutcome>), ctx)).toThrow(
      RejectedChange,
    );
    expect(() => planUserChanges(stored(), outcome(extra as Partial<SandboxOutcome>), ctx)).toThrow(message);
  });

  it('counts lengths in code points, as the sandbox does', () => {
    const changes = planUserChanges(stored(), outcome({ fields: { username: '😀'.repeat(64) } }), ctx);
    expect(changes.find((c) => c.target === 'username_length')?.after).toBe(64);
    const rows = planUserChanges(
      stored(),
      outcome({ attributes: [{ id: null, attr: 'Class', op: '=', value: '😀'.repeat(253) }] }),
      ctx,
    );
    expect(rows.some((c) => c.kind === 'reply' && c.before === null)).toBe(true);
  });

  it('keeps username_length in step with a renamed user unless the script set it', () => {
    const renamed = planUserChanges(stored(), outcome({ fields: { username: 'zoë' } }), ctx);
    expect(renamed.map((c) => [c.target, c.after])).toEqual([
      ['username', 'zoë'],
      ['username_length', 3],
      ['last_update', now.toISOString()],
    ]);
    const explicit = planUserChanges(
      stored(),
      outcome({ fields: { username: 'zoë', username_length: 9 } }),
      ctx,
    );
    expect(explicit.filter((c) => c.target === 'username_length').map((c) => c.after)).toEqual([9]);
  });

  it('diffs profile and radius lists against the stored rows', () => {
    const changes = planUserChanges(
      stored(),
      outcome({
        profiles: [{ id: 2, priority: 2 }],
        attributes: [
          { id: 10, attr: 'Session-Timeout', op: ':=', value: '7200' },
          { id: null, attr: 'Idle-Timeout', op: '=', value: '600' },
        ],
      }),
      ctx,
    );
    expect(changes.filter((c) => c.kind !== 'field')).toEqual([
      { kind: 'profile', target: 'gold', before: null, after: { id: 2, priority: 2 } },
      { kind: 'profile', target: 'aaa-01', before: { id: 1, priority: 1 }, after: null },
      {
        kind: 'reply',
        target: 'Session-Timeout',
        before: { id: 10, attr: 'Session-Timeout', op: ':=', value: '3600' },
        after: { id: 10, attr: 'Session-Timeout', op: ':=', value: '7200' },
      },
      {
        kind: 'reply',
        target: 'Idle-Timeout',
        before: null,
        after: { id: null, attr: 'Idle-Timeout', op: '=', value: '600' },
      },
    ]);
  });

  it('sets over an expired attr by updating its row, and deletes only live ones', () => {
    const changes = planUserChanges(
      stored(),
      outcome({
        attrs: {
          old: { op: 'set', json: '2', expiration: 60, encrypt: false },
          plan: { op: 'delete' },
        },
      }),
      ctx,
    );
    expect(changes.slice(0, 2)).toMatchObject([
      {
        kind: 'attr',
        target: 'old',
        before: { value: '1', is_encrypted: false, expires_at: '2026-01-01T00:00:00.000Z' },
        after: { value: '2', is_encrypted: false, expires_at: '2026-06-01T00:01:00.000Z' },
      },
      {
        kind: 'attr',
        target: 'plan',
        before: { value: '"silver"', is_encrypted: false, expires_at: null },
        after: null,
      },
    ]);
  });

  it('encrypts with the cipher, binding the user id and name', () => {
    const calls: unknown[] = [];
    const cipher = {
      encrypt: (p: string, aad: { userId: number; name: string }) => (calls.push([p, aad]), 'v1:cipher'),
    };
    const [change] = planUserChanges(
      stored(),
      outcome({ attrs: { pin: { op: 'set', json: '"1234"', expiration: null, encrypt: true } } }),
      { ...ctx, cipher },
    );
    expect(change).toEqual({
      kind: 'attr',
      target: 'pin',
      before: null,
      after: {
        value: 'v1:cipher',
        is_encrypted: true,
        expires_at: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      },
    });
    expect(calls).toEqual([['"1234"', { userId: 7, name: 'pin' }]]);
  });
});
