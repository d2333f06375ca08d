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
const jobs = (modes: string[]): SandboxJob[] =>
  modes.map((mode) => ({ seq: ++seq, user: USER, row: { mode } }));

async function run(
  source: string,
  modes: string[],
  over: Partial<SandboxSetup> = {},
): Promise<SandboxOutcome[]> {
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
    expect(o).toMatchObject({
      status: 'done',
      fields: { is_active: false, email: 'someone@x.org' },
    });
    expect(o?.logs).toEqual([expect.stringMatching(/^True /), 'tuple 2', 'x 30 None']);
  });

  it('map timestamps to aware UTC datetimes and back; None is null; naive datetimes are UTC', async () => {
    const [o] = await run(
      `from datetime import datetime, timedelta, timezone
seen = user.last_login
print(type(seen).__name__, seen.isoformat(), seen.tzinfo == timezone.utc)
print(user.first_login is None, user.expiration)
user.expiration = seen + timedelta(days=30)
user.last_update = datetime(2025, 6, 1, 12, 0)
user.email = None
`,
      ['x'],
    );
    expect(o).toMatchObject({
      status: 'done',
      fields: {
        expiration: '2024-02-01T03:04:05.678Z',
        last_update: '2025-06-01T12:00:00.000Z',
        email: null,
      },
    });
    expect(o?.logs).toEqual(['datetime 2024-01-02T03:04:05.678000+00:00 True', 'True None']);
  });

  it('keep integers exact: Python arithmetic is exact, and a value JavaScript would round is refused', async () => {
    const [ok, big] = await run(
      `print(2**70 + 1)
user.attr.set('n', 2**53 - 1)
print(user.attr.get('n') == 2**53 - 1)
if row['mode'] == 'big':
    user.attr.set('m', 2**53 + 1)
`,
      ['ok', 'big'],
    );
    expect(ok).toMatchObject({ status: 'done', logs: ['1180591620717411303425', 'True'] });
    expect(ok?.attrs?.['n']).toMatchObject({ op: 'set', json: '9007199254740991' });
    expect(big).toMatchObject({
      status: 'failed',
      message:
        'OverflowError: integer 9007199254740993 is too large for usrun (the most is 2**53 - 1): it cannot be stored exactly',
      location: 'sem.py:5',
    });
  });

  it("turn the API's TypeError into a catchable Python TypeError with the same message", async () => {
    const js = await run(`try { user.is_active = 'yes'; } catch (e) { console.log(e.message); }`, ['x'], {
      filename: 'same.js',
    });
    const [o] = await run(
      `try:
    user.is_active = 'yes'
except TypeError as e:
    print(e)
print(hasattr(user, 'no_such_field'))
try:
    user.profile_add(id=999)
except Exception as e:
    print(type(e).__name__, e)
`,
      ['x'],
    );
    expect(js[0]?.logs?.[0]).toMatch(/is_active/);
    expect(o?.logs?.[0]).toBe(js[0]?.logs?.[0]);
    expect(o?.logs?.[1]).toBe('False');
    expect(o?.status).toBe('done');
  });

  it('fail the user on an uncaught exception with its type, message and file:line', async () => {
    const [a, b, c] = await run(
      `def check(mode):
    if mode == 'a':
        raise ValueError('bad mode ' + mode)
    return {}[mode]

check(row['mode'])
`,
      ['a', 'b', 'c'],
    );
    expect(a).toMatchObject({ status: 'failed', message: 'ValueError: bad mode a', location: 'sem.py:3' });
    expect(b).toMatchObject({ status: 'failed', message: 'KeyError: b', location: 'sem.py:4' });
    expect(c).toMatchObject({ status: 'failed', message: 'KeyError: c' });
  });

  it('skip() ends the script for the user, even inside try/except Exception', async () => {
    const [a, b] = await run(
      `if row['mode'] == 'a':
    try:
        skip('not this one')
    except Exception:
        print('caught')
user.email = 'x@example.net'
`,
      ['a', 'b'],
    );
    expect(a).toMatchObject({ status: 'skipped', message: 'not this one', logs: [] });
    expect(b).toMatchObject({ status: 'done', fields: { email: 'x@example.net' } });
  });

  it('user.attr takes positional or keyword arguments, as in Zato', async () => {
    const [o] = await run(
      `user.attr.set('my-attribute', 'my-value')
user.attr.set('later', {'a': [1, 2]}, expiration=3600)
user.attr.set_many([
    {'name': 'my-attr1', 'value': 'my-value1'},
    {'name': 'my-attr3', 'value': 'my-value3', 'expiration': 60},
])
print(user.attr.get('later'), user.attr.exists(name='my-attr1'))
try:
    user.attr.set('x', 1, expire=5)
except TypeError as e:
    print(e)
`,
      ['x'],
    );
    expect(o?.status).toBe('done');
    expect(o?.attrs).toMatchObject({
      'my-attribute': { op: 'set', json: '"my-value"', expiration: null },
      later: { op: 'set', json: '{"a":[1,2]}', expiration: 3600 },
      'my-attr1': { op: 'set', json: '"my-value1"' },
      'my-attr3': { op: 'set', json: '"my-value3"', expiration: 60 },
    });
    expect(o?.logs).toEqual(["{'a': (1, 2)} True", "set() got an unexpected keyword argument 'expire'"]);
  });

  it('refuse an object kept from an earlier user', async () => {
    const [a, b] = await run(
      `import datetime
if row['mode'] == 'a':
    datetime.kept = user
else:
    datetime.kept.email = 'x@example.net'
`,
      ['a', 'b'],
    );
    expect(a?.status).toBe('done');
    expect(b).toMatchObject({
      status: 'failed',
      message: 'TypeError: this object belongs to an earlier user; use the current user',
      location: 'sem.py:5',
    });
  });
});

describe('Python syntax and imports', () => {
  it('reports a syntax error with file:line before any user runs', async () => {
    await expect(
      IsolateSession.start(setup('x = 1\nif x\n    pass\n', { filename: 'bad.py' })),
    ).rejects.toThrow('bad.py:2: SyntaxError: invalid syntax');
  });

  it.each(['js', 'jsffi', 'pyscript', '_usrun_host', 'sys', 'os', 'builtins', 'micropython', 'asyncio'])(
    'refuses import %s',
    async (name) => {
      const [o] = await run(`import ${name}`, ['x']);
      expect(o).toMatchObject({ status: 'failed', location: 'sem.py:1' });
      expect(o?.message).toMatch(
        new RegExp(`^ImportError: usrun scripts cannot import '${name}'; they can import: array, `),
      );
    },
  );

  it("leaves no way to the bridge's host function or the real import through function globals", async () => {
    const [o] = await run(
      `names = set()
for f in (skip, print, type(user).__getattr__, type(user).__setattr__, user.profile_add.__call__):
    names.update(k for k in f.__globals__ if not k.startswith('__'))
print(sorted(names))
`,
      ['x'],
    );
    expect(o).toMatchObject({ status: 'done', logs: ['[]'] });
  });

  it('allows the documented modules, and no file access', async () => {
    const [o] = await run(
      `import math, json, re, datetime, time, random, collections, functools, itertools
from collections import OrderedDict
print(math.floor(2.5), json.dumps({'a': 1}), re.match('a+', 'aa') is not None)
try:
    open('/etc/passwd')
except OSError as e:
    print(e)
`,
      ['x'],
    );
    expect(o).toMatchObject({
      status: 'done',
      logs: ['2 {"a": 1} True', 'usrun scripts have no files, input or help'],
    });
  });
});

describe('Python limits', () => {
  const TIMED_OUT = 'script timed out after 300 ms (--timeout raises the limit)';
  const SCRIPT = `mode = row['mode']
if mode == 'loop':
    while True:
        pass
if mode == 'grow':
    a = []
    while True:
        a.append('x' * 100000)
if mode == 'recurse':
    def f(n):
        return f(n + 1)
    f(0)
if mode == 'flood':
    for i in range(2000):
        print(i)
if mode == 'huge':
    s = 'a' * 10**9
user.email = mode + '@example.net'
`;

  it('an endless loop times out and fails only its user', async () => {
    const [a, loop, b] = await run(SCRIPT, ['a', 'loop', 'b'], { timeoutMs: 300 });
    expect(a).toMatchObject({ status: 'done', fields: { email: 'a@example.net' } });
    expect(loop).toMatchObject({ status: 'failed', message: TIMED_OUT });
    expect(b).toMatchObject({ status: 'done', fields: { email: 'b@example.net' } });
  });

  it('memory growth is stopped by the wasm cap (half of --memory) and fails only its user', async () => {
    const [grow, huge, b] = await run(SCRIPT, ['grow', 'huge', 'b'], { timeoutMs: 5000, memoryMb: 64 });
    expect(grow).toMatchObject({ status: 'failed', location: 'sem.py:8' });
    expect(grow?.message).toMatch(
      /^MemoryError: .*\(Python's heap is capped at 32 MB, half of --memory; --memory raises the limit\)$/,
    );
    expect(huge).toMatchObject({ status: 'failed', location: 'sem.py:17' });
    expect(huge?.message).toMatch(/^MemoryError/);
    expect(b).toMatchObject({ status: 'done', fields: { email: 'b@example.net' } });
  });

  it('runaway recursion fails only its user', async () => {
    const [r, b] = await run(SCRIPT, ['recurse', 'b']);
    expect(r).toMatchObject({ status: 'failed', location: 'sem.py:11' });
    expect(r?.message).toMatch(/^RuntimeError: maximum recursion depth exceeded/);
    expect(b).toMatchObject({ status: 'done', fields: { email: 'b@example.net' } });
  });

  it('an output flood keeps the first lines and counts the rest', async () => {
    const [o] = await run(SCRIPT, ['flood'], { maxLogLines: 3, timeoutMs: 20_000 });
    expect(o).toMatchObject({
      status: 'done',
      logs: [
        '0',
        '1',
        '2',
        '… 1997 more lines not kept (the cap is 3 lines per user; --max-log-lines raises it)',
      ],
    });
  });
});
