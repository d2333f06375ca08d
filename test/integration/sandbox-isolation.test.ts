/**
 * What a script cannot reach or spoil: nothing of the host, no isolated-vm object, no other
 * user's outcome through poisoned builtins or a tampered `user`. Real sandbox processes, forked
 * from dist/ (which `npm test` builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxOutcome, SandboxSetup, UserSnapshot } from '../../src/sandbox/protocol.js';
import { type Sandbox, usingSandbox } from '../../src/sandbox/using-sandbox.js';

/** Runs each job's `row.code` as a strict function body, with `log(v)` logging JSON. */
const CASES = `const log = (v) => console.log(JSON.stringify(v));\nreturn Function('log', '"use strict";\\n' + row.code)(log);`;

function setup(source: string): SandboxSetup {
  return {
    source,
    filename: 'iso.js',
    params: {},
    profiles: [
      { id: 1, short_name: 'gold', name: 'Gold' },
      { id: 2, short_name: 'aaa-01', name: null },
    ],
    timeoutMs: 2000,
    memoryMb: 64,
    maxLogLines: 50,
  };
}

function snapshot(username: string): UserSnapshot {
  return {
    fields: { obj_id: 1, username, email: null, is_active: true, date_joined: null, expiration: null },
    profiles: [{ id: 2, short_name: 'aaa-01', name: null, priority: 1 }],
    attributes: [],
    check_attributes: [{ id: 20, attr: 'Max-Daily-Session', op: '==', value: '3' }],
    attrs: [],
  };
}

interface Opened {
  sandbox: Sandbox;
  close: () => void;
}

async function open(source: string): Promise<Opened> {
  let finish = (): void => undefined;
  const sandbox = await new Promise<Sandbox>((resolve, reject) => {
    usingSandbox(setup(source), (s) => {
      resolve(s);
      return new Promise<void>((done) => (finish = done));
    }).then(() => undefined, reject);
  });
  return { sandbox, close: () => finish() };
}

let seq = 0;
async function runAll(sandbox: Sandbox, codes: string[]): Promise<SandboxOutcome[]> {
  return sandbox.runBatch(codes.map((code, i) => ({ seq: ++seq, user: snapshot(`u${i}`), row: { code } })));
}

const ALLOWED_GLOBALS = new Set([
  ...[
    'Object',
    'Function',
    'Array',
    'Number',
    'Boolean',
    'String',
    'Symbol',
    'BigInt',
    'Date',
    'RegExp',
    'Promise',
  ],
  ...[
    'Error',
    'AggregateError',
    'EvalError',
    'RangeError',
    'ReferenceError',
    'SyntaxError',
    'TypeError',
    'URIError',
  ],
  ...[
    'SuppressedError',
    'DisposableStack',
    'AsyncDisposableStack',
    'Iterator',
    'Map',
    'Set',
    'WeakMap',
    'WeakSet',
  ],
  ...[
    'WeakRef',
    'Proxy',
    'Reflect',
    'JSON',
    'Math',
    'Intl',
    'ArrayBuffer',
    'DataView',
    'Uint8Array',
    'Int8Array',
  ],
  ...[
    'Uint16Array',
    'Int16Array',
    'Uint32Array',
    'Int32Array',
    'BigUint64Array',
    'BigInt64Array',
    'Uint8ClampedArray',
  ],
  ...[
    'Float16Array',
    'Float32Array',
    'Float64Array',
    'parseFloat',
    'parseInt',
    'Infinity',
    'NaN',
    'undefined',
  ],
  ...[
    'globalThis',
    'decodeURI',
    'decodeURIComponent',
    'encodeURI',
    'encodeURIComponent',
    'escape',
    'unescape',
  ],
  ...['eval', 'isFinite', 'isNaN'],
  // Ours:
  ...['user', 'obj', 'row', 'params', 'console', 'skip'],
]);

describe('reach', () => {
  let box: Opened;
  beforeAll(async () => (box = await open(CASES)));
  afterAll(() => box.close());

  it('has nothing of Node or the host', async () => {
    const names = [
      'require',
      'process',
      'module',
      'exports',
      'Buffer',
      '__dirname',
      'setTimeout',
      'setInterval',
    ];
    names.push(
      'setImmediate',
      'queueMicrotask',
      'fetch',
      'SharedArrayBuffer',
      'Atomics',
      'WebAssembly',
      'FinalizationRegistry',
    );
    const [outcome] = await runAll(box.sandbox, [`log([${names.map((n) => `typeof ${n}`).join(', ')}]);`]);
    expect(outcome?.logs).toEqual([JSON.stringify(names.map(() => 'undefined'))]);
  });

  it('lists only ECMAScript builtins and its own names on globalThis', async () => {
    const [outcome] = await runAll(box.sandbox, [
      `log(Object.getOwnPropertyNames(globalThis)); log(Object.getOwnPropertySymbols(globalThis).map(String));`,
    ]);
    const [names, symbols] = (outcome?.logs ?? []).map((l) => JSON.parse(l) as string[]);
    expect(names?.filter((n) => !ALLOWED_GLOBALS.has(n))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['user', 'obj', 'row', 'params', 'console', 'skip']));
    expect(symbols?.filter((s) => s !== 'Symbol(Symbol.toStringTag)')).toEqual([]);
  });

  it('reaches only the isolate through the Function constructor', async () => {
    const outcomes = await runAll(box.sandbox, [
      `globalThis.constructor.constructor('return process')();`,
      `const g = user.constructor.constructor('return this')();
       log([g === globalThis, typeof g.process, typeof g.require, Object.getPrototypeOf(user) === Object.prototype]);`,
      `log(typeof Function('return this')().process);`,
      `log(typeof (0, eval)('typeof require'));`,
    ]);
    expect(outcomes[0]).toMatchObject({
      status: 'failed',
      message: 'ReferenceError: process is not defined',
    });
    expect(outcomes[1]?.logs).toEqual(['[true,"undefined","undefined",true]']);
    expect(outcomes[2]?.logs).toEqual(['"undefined"']);
    expect(outcomes[3]?.logs).toEqual(['"string"']);
  });

  it('keeps its globals: user, obj, row, params, console, skip cannot be replaced', async () => {
    const outcomes = await runAll(box.sandbox, [
      `user = {};`,
      `globalThis.console = { log() {} };`,
      `Object.defineProperty(globalThis, 'user', { value: {} });`,
      `delete globalThis.skip;`,
      `log([typeof user.profile_add, typeof console.log, typeof skip]);`,
    ]);
    expect(outcomes.slice(0, 4).map((o) => o.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(outcomes[4]?.logs).toEqual(['["function","function","function"]']);
  });

  it('hands out no isolated-vm object: the API is plain, frozen functions', async () => {
    const [outcome] = await runAll(box.sandbox, [
      `const fns = [user.profile_add, user.attribute_add, user.attr.set, console.log, skip];
       log(fns.map((f) => [typeof f, Object.isFrozen(f), Object.getPrototypeOf(f) === Function.prototype]));
       log([Object.isFrozen(Object.getPrototypeOf(user.attr)), Object.getOwnPropertyNames(Object.getPrototypeOf(user.attr)).sort()]);`,
    ]);
    expect(JSON.parse(outcome?.logs[0] ?? '')).toEqual(Array(5).fill(['function', true, true]));
    expect(JSON.parse(outcome?.logs[1] ?? '')).toEqual([
      true,
      [
        'create',
        'create_many',
        'delete',
        'delete_many',
        'exists',
        'get',
        'get_many',
        'names',
        'set',
        'set_expiry',
        'set_many',
        'update',
        'update_many',
      ],
    ]);
  });
});

describe('script-level this', () => {
  it('is undefined: the script is a strict function body', async () => {
    const box = await open(`console.log(typeof this);\nthis.constructor.constructor('return process')();`);
    try {
      const [outcome] = await runAll(box.sandbox, ['']);
      expect(outcome).toMatchObject({
        status: 'failed',
        message: "TypeError: Cannot read properties of undefined (reading 'constructor')",
        location: 'iso.js:2:6',
        logs: ['undefined'],
      });
    } finally {
      box.close();
    }
  });
});

describe('poisoned builtins', () => {
  const POISON = `
    Array.prototype.push = function () { throw new Error('poisoned push'); };
    Object.defineProperty(Array.prototype, '0', { set() {}, get() { return 'poison'; }, configurable: true });
    Object.defineProperty(Array.prototype, '3', { set() {}, get() { return 'poison'; }, configurable: true });
    Object.prototype.toJSON = function () { return 'poisoned'; };
    Date.prototype.toJSON = function () { return 'poisoned'; };
    Object.defineProperty(Object.prototype, 'id', { get() { return 99; }, configurable: true });
    Object.defineProperty(Object.prototype, 'operation', { get() { return ':='; }, configurable: true });
    Object.defineProperty(Object.prototype, 'expiration', { get() { return -1; }, configurable: true });
    JSON.stringify = () => '"poisoned"';
    JSON.parse = () => ({});
    String.prototype.slice = () => 'poisoned';
    String.prototype.charCodeAt = () => 0;
    RegExp.prototype.exec = () => null;
    Function.prototype.call = () => 'poisoned';
    Function.prototype.apply = () => 'poisoned';
    Array.prototype[Symbol.iterator] = function* () { yield 'poison'; };
    Date.prototype.getTime = () => 0;
    Date.prototype.toISOString = () => 'poisoned';
    Error.prepareStackTrace = () => 'fake stack';
    Error.stackTraceLimit = 0;
    Object.freeze = (o) => o;
    Reflect.get = () => 'poisoned';
  `;
  const STANDARD = `
    user.email = user.username + '@example.net';
    user.expiration = new Date(Date.UTC(2026, 0, 31));
    user.profile_add({ short_name: 'gold' });
    user.attribute_add({ attr: 'Framed-Pool', value: 'pool-a' });
    user.check_attribute_add('Max-Daily-Session', 4);
    user.attr.set_many([{ name: 'plan', value: { tier: 'gold', at: '1970-01-01T00:00:00.000Z', list: [1, null, 3] } }], 60);
  `;
  const expected = (username: string): Partial<SandboxOutcome> => ({
    status: 'done',
    fields: { email: `${username}@example.net`, expiration: '2026-01-31T00:00:00.000Z' },
    profiles: [
      { id: 2, priority: 1 },
      { id: 1, priority: 2 },
    ],
    attributes: [{ id: null, attr: 'Framed-Pool', op: '=', value: 'pool-a' }],
    check_attributes: [{ id: 20, attr: 'Max-Daily-Session', op: '==', value: '4' }],
    attrs: {
      plan: {
        op: 'set',
        json: '{"tier":"gold","at":"1970-01-01T00:00:00.000Z","list":[1,null,3]}',
        expiration: 60,
        encrypt: false,
      },
    },
  });

  it('do not corrupt the outcome of the poisoning user, the next ones, or the next batch', async () => {
    const box = await open(CASES);
    try {
      const outcomes = await runAll(box.sandbox, [
        POISON + STANDARD,
        STANDARD,
        STANDARD,
        `user.email = 'x@example.net';\nnull.boom;`,
      ]);
      expect(outcomes[0]).toMatchObject(expected('u0'));
      expect(outcomes[1]).toMatchObject(expected('u1'));
      expect(outcomes[2]).toMatchObject(expected('u2'));
      expect(outcomes[3]).toMatchObject({
        status: 'failed',
        message: "TypeError: Cannot read properties of null (reading 'boom')",
      });
      expect(outcomes[3]?.location).toMatch(/^iso\.js:2:\d+$/);
      const [later] = await runAll(box.sandbox, [STANDARD]);
      expect(later).toMatchObject(expected('u0'));
    } finally {
      box.close();
    }
  });
});

describe('tampering with user', () => {
  let box: Opened;
  beforeAll(async () => (box = await open(CASES)));
  afterAll(() => box.close());

  it('through its prototype or its methods changes nothing', async () => {
    const outcomes = await runAll(box.sandbox, [
      `Object.getPrototypeOf(user).email = 'proto@example.net';
       Object.getPrototypeOf(user).profile_add = () => [true, 'fake'];
       log([user.email, user.profile_add === Object.prototype.profile_add]);`,
      `user.profile_add.call = () => [true, 'fake'];`,
      `Object.getPrototypeOf(user.attr).set = () => undefined;`,
      `user.attr.set = () => undefined;`,
      `log([user.email, user.profile_add('gold')]);
       delete Object.prototype.email; delete Object.prototype.profile_add;`,
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'done', logs: ['[null,false]'] });
    expect(outcomes[0]?.fields).toBeUndefined();
    expect(outcomes.slice(1, 4).map((o) => [o.status, o.message?.startsWith('TypeError: Cannot')])).toEqual([
      ['failed', true],
      ['failed', true],
      ['failed', true],
    ]);
    expect(outcomes[4]).toMatchObject({ status: 'done', logs: ['[null,[true,"profile gold added"]]'] });
  });

  it('kept from an earlier user acts on nothing', async () => {
    const outcomes = await runAll(box.sandbox, [
      `globalThis.kept = { user, attr: user.attr, add: user.profile_add };`,
      `const { user: old, attr, add } = globalThis.kept;
       for (const f of [() => (old.email = 'x@example.net'), () => old.profile_add('gold'), () => attr.set('a', 1), () => add('gold')]) {
         try { f(); log('no error'); } catch (e) { log(e.message); }
       }
       log(old.username);`,
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'done' });
    expect(outcomes[1]?.logs).toEqual([
      '"user.email: the script run of this user has ended"',
      '"user.profile_add must be called on the user being run (as user.profile_add(…))"',
      '"user.attr.set must be called on user.attr of the user being run"',
      '"user.profile_add must be called on the user being run (as user.profile_add(…))"',
      '"u0"',
    ]);
    expect(outcomes[1]).toMatchObject({ status: 'done' });
    expect(outcomes[1]?.fields).toBeUndefined();
    expect(outcomes[1]?.profiles).toBeUndefined();
  });

  it('from a promise callback counts for its own user, which is done only once the callback ran', async () => {
    const outcomes = await runAll(box.sandbox, [
      `Promise.resolve().then(() => { user.email = 'late@example.net'; user.profile_add('gold'); });`,
      `log(user.email);`,
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'done', logs: [], fields: { email: 'late@example.net' } });
    expect(outcomes[0]?.profiles).toEqual([
      { id: 2, priority: 1 },
      { id: 1, priority: 2 },
    ]);
    expect(outcomes[1]).toMatchObject({ status: 'done', logs: ['null'] });
    expect(outcomes[1]?.fields).toBeUndefined();
  });
});
