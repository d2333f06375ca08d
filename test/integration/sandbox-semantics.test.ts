/**
 * Issue 11: async scripts, the value rules, honest failure reasons, the caps and dead objects of
 * earlier users. The prelude runs in this process (an `IsolateSession`, as the sandbox process
 * drives it), in real isolates, without spawning a process: fast, and the same code path.
 */
import { describe, expect, it } from 'vitest';
import { decodeOutcomes } from '../../src/sandbox/decode-outcomes.js';
import { encodeJobs } from '../../src/sandbox/encode-jobs.js';
import { NEVER_SETTLED_MESSAGE } from '../../src/sandbox/failure-messages.js';
import { IsolateSession } from '../../src/sandbox/isolate-session.js';
import type { SandboxJob, SandboxOutcome, SandboxSetup, UserSnapshot } from '../../src/sandbox/protocol.js';

function setup(source: string, over: Partial<SandboxSetup> = {}): SandboxSetup {
  return {
    source,
    filename: 'sem.js',
    params: {},
    profiles: [{ id: 1, short_name: 'gold', name: 'Gold' }],
    timeoutMs: 200,
    memoryMb: 32,
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
const jobs = (modes: string[]): SandboxJob[] =>
  modes.map((mode) => ({ seq: ++seq, user: USER, row: { mode } }));

/** Runs one batch per entry of `batches` (each a list of `row.mode`s) in one session. */
async function run(
  source: string,
  batches: string[][],
  over: Partial<SandboxSetup> = {},
): Promise<SandboxOutcome[][]> {
  const session = await IsolateSession.start(setup(source, over));
  try {
    const results: SandboxOutcome[][] = [];
    for (const modes of batches) {
      const batch = jobs(modes);
      let json = '[]';
      await session.runBatch(
        encodeJobs(batch),
        batch.length,
        0,
        (j) => (json = j),
        () => false,
      );
      results.push(decodeOutcomes(json, batch));
    }
    return results;
  } finally {
    session.dispose();
  }
}

const runOne = async (source: string, modes: string[], over: Partial<SandboxSetup> = {}) =>
  (await run(source, [modes], over))[0] ?? [];

const TIMED_OUT = 'script timed out after 200 ms (--timeout raises the limit)';

describe('async scripts', () => {
  it('run as an async function body: await works, and the user is done once its promise settles', async () => {
    const [o] = await runOne(
      `let v = 'a';
       for (let i = 0; i < 100; i++) v = await Promise.resolve(v);
       user.email = (await Promise.resolve(v)) + '@example.net';
       await null;
       user.profile_add('gold');`,
      ['x'],
    );
    expect(o).toMatchObject({
      status: 'done',
      fields: { email: 'a@example.net' },
      profiles: [{ id: 1, priority: 1 }],
    });
  });

  it('count what promise callbacks do once the body returned, within the same user', async () => {
    const [a, b] = await runOne(
      `if (row.mode === 'a') {
         let p = Promise.resolve();
         for (let i = 0; i < 50; i++) p = p.then(() => null);
         p.then(() => { user.email = 'late@example.net'; });
       } else console.log(String(user.email));`,
      ['a', 'b'],
    );
    expect(a).toMatchObject({ status: 'done', fields: { email: 'late@example.net' } });
    expect(b).toMatchObject({ status: 'done', logs: ['null'] });
    expect(b?.fields).toBeUndefined();
  });

  it('fail the user on a rejection, with its message and location', async () => {
    const [o] = await runOne(`await null;\nawait Promise.resolve();\nthrow new RangeError('late boom');`, [
      'x',
    ]);
    expect(o).toMatchObject({ status: 'failed', message: 'RangeError: late boom', location: 'sem.js:3:7' });
  });

  it('fail the user on a promise rejected and never handled', async () => {
    const [o, next] = await runOne(
      `if (row.mode === 'stray') Promise.reject(new Error('nobody caught me'));\nuser.email = 'x@example.net';`,
      ['stray', 'fine'],
    );
    expect(o).toMatchObject({ status: 'failed' });
    expect(o?.message).toMatch(/^unhandled promise rejection: .*nobody caught me/);
    expect(next).toMatchObject({ status: 'done', fields: { email: 'x@example.net' } });
  });

  it('fail a user whose promise can never settle, saying so, and only that user', async () => {
    const [a, never, b] = await runOne(
      `if (row.mode === 'never') await new Promise(() => {});\nuser.email = row.mode + '@example.net';`,
      ['a', 'never', 'b'],
    );
    expect(a).toMatchObject({ status: 'done', fields: { email: 'a@example.net' } });
    expect(never).toMatchObject({ status: 'failed', message: NEVER_SETTLED_MESSAGE });
    expect(never?.fields).toBeUndefined();
    expect(b).toMatchObject({ status: 'done', fields: { email: 'b@example.net' } });
  });

  it('a promise callback that loops forever fails only its user, within its timeout', async () => {
    const started = Date.now();
    const [a, spin, chain, b] = await runOne(
      `user.email = row.mode + '@example.net';
       if (row.mode === 'spin') Promise.resolve().then(() => { for (;;) {} });
       if (row.mode === 'chain') (function f() { Promise.resolve().then(f); })();`,
      ['a', 'spin', 'chain', 'b'],
    );
    expect(a).toMatchObject({ status: 'done', fields: { email: 'a@example.net' } });
    expect(spin).toMatchObject({ status: 'failed', message: TIMED_OUT });
    expect(chain).toMatchObject({ status: 'failed', message: TIMED_OUT });
    expect(b).toMatchObject({ status: 'done', fields: { email: 'b@example.net' } });
    // Two timeouts of 200 ms, a fresh isolate after each, and the rest: far from a second each.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('hand out objects that are read-only once their user is done', async () => {
    const [first, second] = await runOne(
      `if (row.mode === 'first') {
         const res = user.profile_add('gold');
         user.attr.set('plan', { tier: 'x', list: [1] });
         globalThis.k = { res, views: user.profiles, rows: user.attributes, val: user.attr.get('plan'), names: user.attr.names() };
         k.val.list.push(2); // still this user's: writable
       } else {
         const tries = [
           () => k.res.push(1),
           () => { k.views[0].priority = 9; },
           () => k.views.pop(),
           () => { k.rows.length = 3; },
           () => { k.val.tier = 'y'; },
           () => k.val.list.push(3),
           () => k.names.push('z'),
         ];
         for (const t of tries) { try { t(); console.log('no error'); } catch (e) { console.log(e.constructor.name); } }
         console.log(JSON.stringify([k.res[0], k.views[0].short_name, k.val]));
       }`,
      ['first', 'second'],
    );
    expect(first).toMatchObject({ status: 'done' });
    expect(second?.logs).toEqual([
      ...Array<string>(7).fill('TypeError'),
      '[true,"gold",{"tier":"x","list":[1,2]}]',
    ]);
    expect(second?.fields).toBeUndefined();
  });

  it('skip() after an await skips the user', async () => {
    const [o] = await runOne(`user.email = 'x@example.net';\nawait null;\nskip('later');`, ['x']);
    expect(o).toMatchObject({ status: 'skipped', message: 'later' });
    expect(o?.fields).toBeUndefined();
  });

  it('have no dynamic import: the prelude modules are out of reach', async () => {
    const [o] = await runOne(`await import('./prelude/runner.js');`, ['x']);
    expect(o?.status).toBe('failed');
    expect(o?.fields).toBeUndefined();
  });

  it('leave nothing queued that could change a later user', async () => {
    const [first, second] = await runOne(
      `if (row.mode === 'first') {
         globalThis.kept = user;
         globalThis.keptAttr = user.attr;
       } else {
         const tries = [
           () => { kept.email = 'evil@example.net'; },
           () => kept.profile_add('gold'),
           () => keptAttr.set('x', 1),
           () => keptAttr.get('x'),
         ];
         for (const t of tries) { try { t(); console.log('no error'); } catch (e) { console.log(e.constructor.name); } }
         console.log(kept.username);
       }`,
      ['first', 'second'],
    );
    expect(first).toMatchObject({ status: 'done' });
    expect(second).toMatchObject({
      status: 'done',
      logs: ['TypeError', 'TypeError', 'TypeError', 'TypeError', 'u'],
    });
    expect(second?.fields).toBeUndefined();
  });
});

describe('value rules', () => {
  const SET = `const v = Function('return (' + row.mode + ')')();\nuser.attr.set('x', v);`;
  it.each([
    ['{ a: [1, 2, 3, NaN] }', 'value.a[3] is NaN, which JSON cannot hold'],
    ['Infinity', 'value is Infinity, which JSON cannot hold'],
    ['{ b: { c: -Infinity } }', 'value.b.c is -Infinity, which JSON cannot hold'],
    ['10n', 'value is a BigInt, which JSON cannot hold'],
    ['[Symbol("s")]', 'value[0] is a Symbol, which JSON cannot hold'],
    ['{ f() {} }', 'value.f is a function, which JSON cannot hold'],
    ['{ a: undefined }', 'value.a is undefined, which JSON cannot hold'],
    ['[1, undefined]', 'value[1] is undefined, which JSON cannot hold'],
    ['[1, , 3]', 'value[1] is a hole in a sparse array'],
    [
      '(() => { const o = { a: [] }; o.a.push(o); return o; })()',
      'value.a[0] refers back to itself (a cycle)',
    ],
    ['new Map([[1, 2]])', 'value is not a plain object or array'],
    [
      '{ when: new Date(0) }',
      'value.when is not a plain object or array (store a Date as text: date.toISOString())',
    ],
    ['{ "a b": new (class Point {})() }', 'value["a b"] is not a plain object or array'],
    ['"x".repeat(70000)', 'value makes the value larger than 65536 bytes of JSON'],
    ['JSON.parse("[".repeat(70) + "]".repeat(70))', /^value(\[0\]){64} is nested deeper than 64 levels$/],
  ])('user.attr.set(x, %s) throws a TypeError naming the path', async (mode, message) => {
    const [o] = await runOne(SET, [mode]);
    expect(o?.status).toBe('failed');
    if (typeof message === 'string') expect(o?.message).toBe(`TypeError: user.attr.set: ${message}`);
    else expect(o?.message?.replace('TypeError: user.attr.set: ', '')).toMatch(message);
  });

  it('accepts JSON values, null-prototype objects included, and stores exactly them', async () => {
    const [o] = await runOne(SET, [
      '{ n: -0.5, s: "é😀", t: true, z: null, l: [[], {}], o: Object.assign(Object.create(null), { k: 1 }) }',
    ]);
    expect(o?.attrs?.['x']).toEqual({
      op: 'set',
      json: '{"n":-0.5,"s":"é😀","t":true,"z":null,"l":[[],{}],"o":{"k":1}}',
      expiration: null,
      encrypt: false,
    });
  });

  it('in a run with NaN attrs only those users fail', async () => {
    const outcomes = await runOne(
      `user.attr.set('score', row.mode === 'nan' ? { total: 0 / 0 } : { total: 1 });`,
      ['ok', 'nan', 'ok', 'nan', 'ok'],
    );
    expect(outcomes.map((o) => o.status)).toEqual(['done', 'failed', 'done', 'failed', 'done']);
    expect(outcomes[1]?.message).toBe('TypeError: user.attr.set: value.total is NaN, which JSON cannot hold');
  });

  it.each([
    ['user.username_length = NaN', 'TypeError: user.username_length must be an integer or null (got NaN)'],
    [
      'user.username_length = Infinity',
      'TypeError: user.username_length must be an integer or null (got Infinity)',
    ],
    [
      "user.expiration = new Date('nope')",
      'TypeError: user.expiration must be a valid Date, an ISO-8601 string or null (got an invalid Date)',
    ],
    [
      "user.expiration = '2026-02-30'",
      'TypeError: user.expiration must be a valid Date, an ISO-8601 string or null (got "2026-02-30")',
    ],
    [
      "user.attribute_add('Session-Timeout', NaN)",
      'TypeError: user.attribute_add: value must be a string or a finite number (got NaN)',
    ],
    [
      "user.check_attribute_add('Max-Daily-Session', -Infinity)",
      'TypeError: user.check_attribute_add: value must be a string or a finite number (got -Infinity)',
    ],
    [
      "user.attribute_add('Class', '😀'.repeat(254))",
      'TypeError: user.attribute_add: value must be at most 253 characters (got 254)',
    ],
  ])('fields and RADIUS values: %s', async (code, message) => {
    const [o] = await runOne(`Function(row.mode)();`, [code]);
    expect(o).toMatchObject({ status: 'failed', message });
  });

  it('counts text in code points, like username_length: 64 emoji are a valid username', async () => {
    const [o] = await runOne(`user.username = '😀'.repeat(64);`, ['x']);
    expect(o).toMatchObject({ status: 'done', fields: { username: '😀'.repeat(64) } });
  });
});

describe('failure reasons and caps', () => {
  it('the memory limit fails only that user, with the limit, and the next user gets a fresh isolate', async () => {
    const [a, grow, b] = await runOne(
      `if (row.mode === 'grow') { const a = []; for (;;) a.push(new Array(1e5).fill(1)); }\nuser.email = row.mode + '@example.net';`,
      ['a', 'grow', 'b'],
      { memoryMb: 16, timeoutMs: 5000 },
    );
    expect(a).toMatchObject({ status: 'done' });
    expect(grow).toMatchObject({
      status: 'failed',
      message: 'script exceeded the memory limit of 16 MB (--memory raises the limit)',
    });
    expect(b).toMatchObject({ status: 'done', fields: { email: 'b@example.net' } });
  });

  it('a CPU timeout names the limit and keeps the lines logged before it', async () => {
    const [o] = await runOne(`console.log('before');\nfor (;;) {}`, ['x']);
    expect(o).toMatchObject({ status: 'failed', message: TIMED_OUT, logs: ['before'] });
  });

  it('changes per user are capped', async () => {
    const [few, many] = await runOne(
      `const n = row.mode === 'many' ? 1001 : 1000;\nfor (let i = 0; i < n; i++) user.attr.set('a' + i, i);`,
      ['few', 'many'],
    );
    expect(few?.status).toBe('done');
    expect(Object.keys(few?.attrs ?? {})).toHaveLength(1000);
    expect(many).toMatchObject({
      status: 'failed',
      message:
        'TypeError: user.attr: more than 1000 attributes for one user; the cap is 1000 changes per user',
    });
  });

  it('console lines per user: the last line says how many were dropped and which flag raises the cap', async () => {
    const [o] = await runOne(`for (let i = 0; i < 7; i++) console.log(i);`, ['x'], { maxLogLines: 3 });
    expect(o?.logs).toEqual([
      '0',
      '1',
      '2',
      '… 4 more lines not kept (the cap is 3 lines per user; --max-log-lines raises it)',
    ]);
  });

  it('console characters per user and per run are capped', async () => {
    const [perUser] = await runOne(`for (let i = 0; i < 5; i++) console.log('x'.repeat(40));`, ['x'], {
      maxLogChars: 100,
    });
    expect(perUser?.logs).toEqual([
      'x'.repeat(40),
      'x'.repeat(40),
      '… 3 more lines not kept (the cap is 100 characters per user)',
    ]);
    const [first, , third] = await runOne(`console.log('y'.repeat(300));`, ['a', 'b', 'c'], {
      maxRunLogChars: 700,
    });
    expect(first?.logs).toEqual(['y'.repeat(300)]);
    expect(third?.logs).toEqual([
      "… 1 more line not kept (the run's console output reached its cap of 700 characters)",
    ]);
  });
});
