/**
 * Issue 13: Python scripts (MicroPython compiled to WebAssembly) in the same isolate sandbox.
 * The prelude and MicroPython run in this process (an `IsolateSession`, as the sandbox process
 * drives it), in real isolates: the seed's Python semantics, errors, imports and limits.
 */
import { describe, expect, it } from 'vitest';
import { decodeOutcomes } from '../../src/sandbox/decode-outcomes.js';
import { encodeJobs } from '../../src/sandbox/encode-jobs.js';
import { IsolateSession } from '../../src/sandbox/isolate-session.js';
import type { SandboxJob, SandboxOutcome, SandboxSetup, UserSnapshot } from '../../src/sandbox/protocol.js';

function setup(source: string, over: Partial<SandboxSetup> = {}): SandboxSetup {
  return {
    source,
    filename: 'sem.py',
    params: { days: '30' },
    profiles: [
      { id: 1, short_name: 'gold', name: 'Gold' },
      { id: 12, short_name: 'aaa-01', name: 'AAA' },
    ],
    timeoutMs: 1000,
    memoryMb: 64,
    maxLogLines: 10,
    ...over,
  };
}

const USER: UserSnapshot = {
  fields: {
    obj_id: 1,
    username: 'u',
    email: 'Someone@X.org',
    is_active: true,
    last_login: '2024-01-02T03:04:05.678Z',
    first_login: null,
  },
  profiles: [],
  attributes: [],
  check_attributes: [],
  attrs: [],
};

let seq = 0;
const jobs = (modes: string[]): SandboxJob[] => modes.map((mode) => ({ seq: ++seq, user: USER, row: { mode } }));

async function run(source: string, modes: string[], over: Partial<SandboxSetup> = {}): Promise<SandboxOutcome[]> {
  const session = await IsolateSession.start(setup(source, over));
  try {
    const batch = jobs(modes);
    let json = '[]';
    await session.runBatch(
      encodeJobs(batch),
      batch.length,
      0,
      (j) => (json = j),
      () => false,
    );
    return decodeOutcomes(json, batch);
  } finally {
    session.dispose();
  }
}

describe('Python scripts', () => {
  it('read and assign fields, call methods with keyword arguments, get tuples back', async () => {
    const [o] = await run(
      `updated, message = user.profile_add(id=12)
print(updated, message)
r = user.profile_add(short_name="gold")
print(type(r).__name__, len(r))
user.is_active = False
if user.email.endswith('@X.org'):
    user.email = user.email.lower()
print(row['mode'], params['days'], user.first_login)
`,
      ['x'],
    );
    console.log(JSON.stringify(o));
    expect(o).toMatchObject({
      status: 'done',
      fields: { is_active: false, email: 'someone@x.org' },
    });
    expect(o?.logs).toEqual([expect.stringMatching(/^True /), 'tuple 2', 'x 30 None']);
  });
});
