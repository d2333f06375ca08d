/** The host's side of the batch wire format: jobs out, outcomes back in. */
import { describe, expect, it } from 'vitest';
import { BatchFailure } from '../../src/sandbox/batch-failure.js';
import { decodeOutcomes } from '../../src/sandbox/decode-outcomes.js';
import { encodeJobs } from '../../src/sandbox/encode-jobs.js';
import type { SandboxJob } from '../../src/sandbox/protocol.js';
import { USER_FIELD_NAMES } from '../../src/store/user-fields.js';

const job = (seq: number): SandboxJob => ({
  seq,
  user: {
    fields: { username: 'alice', obj_id: 7, email: 'a\nb@example.org' },
    profiles: [{ id: 2, short_name: 'aaa-01', name: null, priority: 1 }],
    attributes: [{ id: 10, attr: 'Session-Timeout', op: ':=', value: '1800' }],
    check_attributes: [],
    attrs: [{ name: 'plan', json: '{"t":1}', encrypted: false, expires_at: null }],
  },
  row: { username: 'alice' },
});

describe('encodeJobs', () => {
  it('writes one positional JSON array per line, fields in USER_FIELDS order', () => {
    const lines = encodeJobs([job(1), job(2)]).split('\n');
    expect(lines).toHaveLength(2);
    const [seq, fields, profiles, reply, check, attrs, row] = JSON.parse(lines[0] ?? '') as unknown[];
    expect(seq).toBe(1);
    expect(fields).toHaveLength(USER_FIELD_NAMES.length);
    expect((fields as unknown[])[USER_FIELD_NAMES.indexOf('email')]).toBe('a\nb@example.org');
    expect((fields as unknown[])[USER_FIELD_NAMES.indexOf('klass')]).toBeNull();
    expect([profiles, reply, check, attrs, row]).toEqual([
      [[2, 'aaa-01', null, 1]],
      [[10, 'Session-Timeout', ':=', '1800']],
      [],
      [['plan', '{"t":1}', false]],
      { username: 'alice' },
    ]);
  });
});

describe('decodeOutcomes', () => {
  const jobs = [job(1), job(2), job(3)];
  const email = USER_FIELD_NAMES.indexOf('email');

  it('reads done, skipped and failed rows into SandboxOutcomes', () => {
    const text = JSON.stringify([
      [
        1,
        0,
        ['hi'],
        ['no profile with short_name gld', 'script.js:1:6', 'user already has profile gold', null],
        [email, 'x@example.org'],
        [2, 1, 1, 2],
        [null, 'A', '=', '1'],
        0,
        ['p', 'set', '1', 60, true, 'q', 'delete', null, null, false],
      ],
      [2, 1, [], 0, 'not now'],
      [3, 2, ['so far'], 0, 'TypeError: boom', 'script.js:3:7'],
    ]);
    expect(decodeOutcomes(text, jobs)).toEqual([
      {
        seq: 1,
        status: 'done',
        logs: ['hi'],
        notes: [
          { message: 'no profile with short_name gld', location: 'script.js:1:6' },
          { message: 'user already has profile gold' },
        ],
        fields: { email: 'x@example.org' },
        profiles: [
          { id: 2, priority: 1 },
          { id: 1, priority: 2 },
        ],
        attributes: [{ id: null, attr: 'A', op: '=', value: '1' }],
        attrs: { p: { op: 'set', json: '1', expiration: 60, encrypt: true }, q: { op: 'delete' } },
      },
      { seq: 2, status: 'skipped', message: 'not now', logs: [] },
      { seq: 3, status: 'failed', message: 'TypeError: boom', location: 'script.js:3:7', logs: ['so far'] },
    ]);
  });

  it.each([
    ['not json', '[1,'],
    ['fewer outcomes', '[[1,1,[]]]'],
    ['a seq out of order', '[[2,1,[]],[1,1,[]],[3,1,[]]]'],
    ['an unknown status', '[[1,7,[]],[2,1,[]],[3,1,[]]]'],
    ['an unknown field', '[[1,0,[],0,[99,"x"],0,0,0,0],[2,1,[]],[3,1,[]]]'],
    ['a ragged list', '[[1,0,[],0,0,[1],0,0,0],[2,1,[]],[3,1,[]]]'],
    ['an object field value', '[[1,0,[],0,[0,{}],0,0,0,0],[2,1,[]],[3,1,[]]]'],
    ['a bad attr op', '[[1,0,[],0,0,0,0,0,["p","drop",null,null,false]],[2,1,[]],[3,1,[]]]'],
    ['notes that are not message/location pairs', '[[1,0,[],["x"],0,0,0,0,0],[2,1,[]],[3,1,[]]]'],
    ['a note without a message', '[[1,0,[],[1,null],0,0,0,0,0],[2,1,[]],[3,1,[]]]'],
    ['non-string logs', '[[1,1,[1]],[2,1,[]],[3,1,[]]]'],
  ])('refuses %s with a BatchFailure', (_what, text) => {
    expect(() => decodeOutcomes(text, jobs)).toThrow(BatchFailure);
  });
});
