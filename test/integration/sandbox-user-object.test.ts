/**
 * The `user` object, `user.attr`, `skip`, `console` and failures, through the real sandbox
 * process (forked from dist/, which `npm test` builds first). One sandbox serves every case: its
 * script runs each job's `row.code` as a strict function body, with `log(v)` logging JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxOutcome, SandboxSetup, UserSnapshot } from '../../src/sandbox/protocol.js';
import { type Sandbox, usingSandbox } from '../../src/sandbox/using-sandbox.js';

const SETUP: SandboxSetup = {
  source: `const log = (v) => console.log(JSON.stringify(v));\nreturn Function('log', '"use strict";\\n' + row.code)(log);`,
  filename: 'cases.js',
  params: { region: 'north' },
  profiles: [
    {
      id: 1,
      short_name: 'gold',
      name: 'Gold',
      attributes: [{ attr: 'Session-Timeout', op: ':=', value: '7200' }],
      check_attributes: [{ attr: 'Simultaneous-Use', op: ':=', value: '1' }],
    },
    { id: 2, short_name: 'aaa-01', name: 'AAA 01' },
    { id: 12, short_name: 'aaa-12', name: null },
  ],
  timeoutMs: 2000,
  memoryMb: 64,
  maxLogLines: 5,
};

function snapshot(over: Partial<UserSnapshot> = {}): UserSnapshot {
  return {
    fields: {
      obj_id: 7,
      username: 'alice',
      username_length: 5,
      first_name: 'Alice',
      last_name: 'Liddell',
      email: 'alice@example.org',
      external_id: 'ext-7',
      klass: 'residential',
      is_active: true,
      date_joined: '2024-01-02T03:04:05.000Z',
      first_login: '2024-01-03T00:00:00.000Z',
      last_login: null,
      expiration: null,
      last_update: '2025-06-01T00:00:00.000Z',
      organization_id: 3,
      avatar_url: null,
      description: null,
      ...over.fields,
    },
    profiles: over.profiles ?? [{ id: 2, short_name: 'aaa-01', name: 'AAA 01', priority: 1 }],
    attributes: over.attributes ?? [{ id: 10, attr: 'Session-Timeout', op: ':=', value: '1800' }],
    check_attributes: over.check_attributes ?? [{ id: 20, attr: 'Max-Daily-Session', op: '==', value: '3' }],
    attrs: over.attrs ?? [
      { name: 'plan', json: '{"tier":"silver"}', encrypted: false, expires_at: null },
      { name: 'secret', json: null, encrypted: true, expires_at: null },
    ],
  };
}

let sandbox: Sandbox;
let close: () => Promise<void>;
let seq = 0;

beforeAll(async () => {
  let finish = (): void => undefined;
  const opened = new Promise<Sandbox>((resolve, reject) => {
    usingSandbox(SETUP, (s) => {
      resolve(s);
      return new Promise<void>((done) => (finish = done));
    }).then(() => undefined, reject);
  });
  sandbox = await opened;
  close = async () => finish();
});

afterAll(async () => close());

async function run(code: string, user: UserSnapshot = snapshot()): Promise<SandboxOutcome> {
  const [outcome] = await sandbox.runBatch([{ seq: ++seq, user, row: { code } }]);
  if (!outcome) throw new Error('no outcome');
  return outcome;
}

/** Runs `code` and returns what it passed to log(), parsed. */
async function logged(code: string, user?: UserSnapshot): Promise<unknown[]> {
  const outcome = await run(code, user);
  expect(outcome).toMatchObject({ status: 'done' });
  return outcome.logs.map((line) => JSON.parse(line) as unknown);
}

async function failure(code: string, user?: UserSnapshot): Promise<string | undefined> {
  const outcome = await run(code, user);
  expect(outcome.status).toBe('failed');
  return outcome.message;
}

describe('fields', () => {
  it('exposes every field; timestamps read as fresh Dates', async () => {
    const out = await logged(`
      log(Object.keys(user));
      log([user.username, user.obj_id, user.is_active, user.last_login, user.organization_id]);
      log([user.date_joined instanceof Date, user.date_joined.toISOString(), user.date_joined === user.date_joined]);
      const d = user.date_joined; d.setFullYear(1999); log(user.date_joined.getUTCFullYear());
      log(obj === user);
    `);
    expect(out[0]).toEqual([
      ...[
        'obj_id',
        'username',
        'username_length',
        'first_name',
        'last_name',
        'email',
        'external_id',
        'klass',
      ],
      ...[
        'is_active',
        'date_joined',
        'first_login',
        'last_login',
        'expiration',
        'last_update',
        'organization_id',
      ],
      ...['avatar_url', 'description', 'profiles', 'attributes', 'check_attributes'],
    ]);
    expect(out.slice(1)).toEqual([
      ['alice', 7, true, null, 3],
      [true, '2024-01-02T03:04:05.000Z', false],
      2024,
      true,
    ]);
  });

  it('reports only assigned fields whose value changed', async () => {
    const outcome = await run(`
      user.email = 'new@example.org';
      user.first_name = 'Alice';
      user.last_name = 'Other'; user.last_name = 'Liddell';
      user.is_active = false;
      user.username_length = 12;
      user.description = 'hello';
      log(user.email);
    `);
    expect(outcome).toMatchObject({ status: 'done', logs: ['"new@example.org"'] });
    expect(outcome.fields).toEqual({
      email: 'new@example.org',
      is_active: false,
      username_length: 12,
      description: 'hello',
    });
    expect(outcome.profiles).toBeUndefined();
  });

  it('accepts a Date, an ISO string (UTC without a zone) or null for writable timestamps', async () => {
    const outcome = await run(
      `
      user.expiration = new Date('2026-01-31T10:00:00Z');
      user.last_update = '2026-02-01';
      user.first_name = null;
      log([user.expiration.toISOString(), user.last_update.toISOString()]);
      user.expiration = '2026-03-01T08:30';
    `,
      snapshot({ fields: { expiration: '2025-01-01T00:00:00.000Z' } }),
    );
    expect(outcome.fields).toEqual({
      expiration: '2026-03-01T08:30:00.000Z',
      last_update: '2026-02-01T00:00:00.000Z',
      first_name: null,
    });
    expect(outcome.logs).toEqual(['["2026-01-31T10:00:00.000Z","2026-02-01T00:00:00.000Z"]']);
    const cleared = await run(
      `user.expiration = null;`,
      snapshot({ fields: { expiration: '2025-01-01T00:00:00.000Z' } }),
    );
    expect(cleared.fields).toEqual({ expiration: null });
  });

  it.each(['obj_id', 'date_joined', 'first_login', 'last_login', 'organization_id'])(
    'refuses to write read-only %s',
    async (field) => {
      expect(await failure(`user.${field} = null;`)).toBe(`TypeError: user.${field} is read-only`);
    },
  );

  it('throws on unknown fields, naming them', async () => {
    expect(await failure(`user.emial = 'x@example.org';`)).toBe(
      'TypeError: user has no field "emial" (did you mean email?)',
    );
    expect(await failure(`user.profiles = [];`)).toBe('TypeError: user.profiles is read-only');
    expect(await failure(`user.profile_add = () => [true, 'x'];`)).toBe(
      'TypeError: user.profile_add is read-only',
    );
  });

  it.each([
    [`user.email = 5`, 'TypeError: user.email must be a string or null (got 5)'],
    [`user.username = ''`, 'TypeError: user.username must not be empty'],
    [`user.username = null`, 'TypeError: user.username cannot be null'],
    [`user.username = 'x'.repeat(65)`, 'TypeError: user.username must be at most 64 characters (got 65)'],
    [`user.is_active = 'yes'`, 'TypeError: user.is_active must be a boolean (got "yes")'],
    [`user.username_length = 1.5`, 'TypeError: user.username_length must be an integer or null (got 1.5)'],
    [`user.username_length = '3'`, 'TypeError: user.username_length must be an integer or null (got "3")'],
    [
      `user.expiration = 'tomorrow'`,
      'TypeError: user.expiration must be a valid Date, an ISO-8601 string or null (got "tomorrow")',
    ],
    [
      `user.expiration = '2026-02-30'`,
      'TypeError: user.expiration must be a valid Date, an ISO-8601 string or null (got "2026-02-30")',
    ],
    [
      `user.expiration = new Date('nope')`,
      'TypeError: user.expiration must be a valid Date, an ISO-8601 string or null (got an invalid Date)',
    ],
    [
      `user.expiration = 1767225600000`,
      'TypeError: user.expiration must be a valid Date, an ISO-8601 string or null (got 1767225600000)',
    ],
    [`user.description = undefined`, 'TypeError: user.description must be a string or null (got undefined)'],
  ])('rejects a wrong type: %s', async (code, message) => {
    expect(await failure(code)).toBe(message);
  });

  it('cannot be redefined, deleted, re-prototyped or frozen', async () => {
    expect(await failure(`Object.defineProperty(user, 'email', { value: 'x' });`)).toBe(
      'TypeError: user.email cannot be redefined; assign it instead',
    );
    expect(await failure(`delete user.email;`)).toBe('TypeError: user.email cannot be deleted');
    expect(await failure(`Object.setPrototypeOf(user, null);`)).toBe(
      'TypeError: the prototype of user cannot be changed',
    );
    expect(await failure(`Object.freeze(user);`)).toMatch(/^TypeError: user cannot be frozen/);
  });

  it('serializes to JSON with its fields and behaves like an object', async () => {
    const [json, has, str] = await logged(`
      log(JSON.parse(JSON.stringify(user)));
      log(['email' in user, 'nope' in user, user.hasOwnProperty('email')]);
      log(String(user));
    `);
    expect(json).toMatchObject({
      username: 'alice',
      date_joined: '2024-01-02T03:04:05.000Z',
      profiles: [{ id: 2 }],
    });
    expect(has).toEqual([true, false, true]);
    expect(str).toBe('[object Object]');
  });
});

describe('profiles', () => {
  it('adds by short name, id, {short_name} or {id}, with priority max + 1', async () => {
    const outcome = await run(`
      log(user.profile_add('gold'));
      log(user.profile_add({ id: 12 }));
      log(user.profile_add({ short_name: 'gold' }));
      log(user.profile_add(2));
      log(user.profiles);
    `);
    expect(outcome.logs.map((l) => JSON.parse(l) as unknown)).toEqual([
      [true, 'profile gold added'],
      [true, 'profile aaa-12 added'],
      [false, 'user already has profile gold'],
      [false, 'user already has profile aaa-01'],
      [
        { id: 2, short_name: 'aaa-01', name: 'AAA 01', priority: 1, attributes: [], check_attributes: [] },
        {
          id: 1,
          short_name: 'gold',
          name: 'Gold',
          priority: 2,
          attributes: [{ attr: 'Session-Timeout', op: ':=', value: '7200' }],
          check_attributes: [{ attr: 'Simultaneous-Use', op: ':=', value: '1' }],
        },
        { id: 12, short_name: 'aaa-12', name: null, priority: 3, attributes: [], check_attributes: [] },
      ],
    ]);
    expect(outcome.profiles).toEqual([
      { id: 2, priority: 1 },
      { id: 1, priority: 2 },
      { id: 12, priority: 3 },
    ]);
  });

  it("shows each profile's own reply and check rows as copies a script cannot change", async () => {
    const outcome = await run(
      `
      const gold = user.profiles[0];
      log(gold.attributes);
      gold.attributes.push({ attr: 'Evil', op: ':=', value: '1' });
      gold.check_attributes[0].value = '99';
      gold.attributes = [];
      log([user.profiles[0].attributes.length, user.profiles[0].check_attributes[0].value]);
      log(Object.isFrozen(user.profiles[0].attributes) || Array.isArray(user.profiles[0].attributes));
    `,
      snapshot({ profiles: [{ id: 1, short_name: 'gold', name: 'Gold', priority: 1 }] }),
    );
    expect(outcome.status).toBe('done');
    expect(outcome.logs.map((l) => JSON.parse(l) as unknown)).toEqual([
      [{ attr: 'Session-Timeout', op: ':=', value: '7200' }],
      [1, '1'],
      true,
    ]);
    // Reading or scribbling on the copies is not a change to the user.
    expect(outcome.profiles).toBeUndefined();
    expect(outcome.attributes).toBeUndefined();
  });

  it('starts priorities at 1 and reports unknown profiles without throwing', async () => {
    const outcome = await run(
      `
      log(user.profile_add('zzz'));
      log(user.profile_add({ id: 99 }));
      log(user.profile_add({ short_name: 'aaa-01' }));
    `,
      snapshot({ profiles: [] }),
    );
    expect(outcome.logs.map((l) => JSON.parse(l) as unknown)).toEqual([
      [false, 'no profile with short_name zzz'],
      [false, 'no profile with id 99'],
      [true, 'profile aaa-01 added'],
    ]);
    expect(outcome.profiles).toEqual([{ id: 2, priority: 1 }]);
  });

  it('removes, and says when the user does not have it', async () => {
    const outcome = await run(`
      log(user.profile_remove({ short_name: 'aaa-01' }));
      log(user.profile_remove('aaa-01'));
      log(user.profile_remove({ id: 1 }));
      log(user.profiles);
    `);
    expect(outcome.logs.map((l) => JSON.parse(l) as unknown)).toEqual([
      [true, 'profile aaa-01 removed'],
      [false, 'user does not have profile aaa-01'],
      [false, 'user does not have profile gold'],
      [],
    ]);
    expect(outcome.profiles).toEqual([]);
  });

  it('reports nothing when the final memberships equal the snapshot', async () => {
    const outcome = await run(`user.profile_add('gold'); user.profile_remove('gold');`);
    expect(outcome.profiles).toBeUndefined();
  });

  it.each([
    `user.profile_add({ id: 1, short_name: 'gold' })`,
    `user.profile_add({})`,
    `user.profile_remove()`,
  ])('needs exactly one of id and short_name: %s', async (code) => {
    expect(await failure(code)).toMatch(
      /^TypeError: user\.profile_(add|remove): use either id or short_name/,
    );
  });

  it('gives copies from the reader: mutating them changes nothing', async () => {
    const outcome = await run(`
      const p = user.profiles; p.push({ id: 1 }); p[0].priority = 50;
      log(user.profiles.length);
      log(user.profiles === user.profiles);
    `);
    expect(outcome.logs).toEqual(['1', 'false']);
    expect(outcome.profiles).toBeUndefined();
  });
});

describe('reply and check attributes', () => {
  const two = snapshot({
    attributes: [
      { id: 10, attr: 'Session-Timeout', op: ':=', value: '1800' },
      { id: 11, attr: 'Session-Timeout', op: '+=', value: '60' },
      { id: 12, attr: 'Idle-Timeout', op: '=', value: '300' },
    ],
  });

  it('= adds only when the attribute is absent (the default operator)', async () => {
    const outcome = await run(`
      log(user.attribute_add('Session-Timeout', 3600));
      log(user.attribute_add('Framed-Pool', 'pool-a'));
      log(user.attributes);
    `);
    expect(outcome.logs.map((l) => JSON.parse(l) as unknown)).toEqual([
      [false, 'reply Session-Timeout already present'],
      [true, 'reply Framed-Pool = pool-a added'],
      [
        { attr: 'Session-Timeout', op: ':=', value: '1800' },
        { attr: 'Framed-Pool', op: '=', value: 'pool-a' },
      ],
    ]);
    expect(outcome.attributes).toEqual([
      { id: 10, attr: 'Session-Timeout', op: ':=', value: '1800' },
      { id: null, attr: 'Framed-Pool', op: '=', value: 'pool-a' },
    ]);
  });

  it(':= replaces every row of the attribute, keeping an identical one', async () => {
    const outcome = await run(
      `log(user.attribute_add({ attr: 'Session-Timeout', value: 3600, operation: ':=' }));`,
      two,
    );
    expect(outcome.logs).toEqual(['[true,"reply Session-Timeout := 3600 added (replaced 2 rows)"]']);
    expect(outcome.attributes).toEqual([
      { id: 12, attr: 'Idle-Timeout', op: '=', value: '300' },
      { id: null, attr: 'Session-Timeout', op: ':=', value: '3600' },
    ]);
    const kept = await run(`log(user.attribute_add('Session-Timeout', '1800', ':='));`, two);
    expect(kept.logs).toEqual(['[true,"reply Session-Timeout := 1800 added (replaced 1 row)"]']);
    expect(kept.attributes).toEqual([
      { id: 10, attr: 'Session-Timeout', op: ':=', value: '1800' },
      { id: 12, attr: 'Idle-Timeout', op: '=', value: '300' },
    ]);
    const same = await run(`log(user.attribute_add('Session-Timeout', 1800, ':='));`);
    expect(same.logs).toEqual(['[false,"reply Session-Timeout := 1800 already present"]']);
    expect(same.attributes).toBeUndefined();
  });

  it('+= appends unless the identical row exists', async () => {
    const outcome = await run(
      `
      log(user.attribute_add('Session-Timeout', 60, '+='));
      log(user.attribute_add('Session-Timeout', 90, '+='));
    `,
      two,
    );
    expect(outcome.logs).toEqual([
      '[false,"reply Session-Timeout += 60 already present"]',
      '[true,"reply Session-Timeout += 90 added"]',
    ]);
    expect(outcome.attributes?.at(-1)).toEqual({ id: null, attr: 'Session-Timeout', op: '+=', value: '90' });
  });

  it('a comparison operator sets the value of its row (== by default for check attributes)', async () => {
    const outcome = await run(`
      log(user.check_attribute_add('Max-Daily-Session', 4));
      log(user.check_attribute_add({ attr: 'Max-Daily-Session', value: '4', operation: '==' }));
      log(user.check_attribute_add('Max-Daily-Session', 10, '<'));
      log(user.check_attribute_add('Called-Station-Id', '^ap-', '=~'));
      log(user.check_attributes);
    `);
    expect(outcome.logs.map((l) => JSON.parse(l) as unknown)).toEqual([
      [true, 'check Max-Daily-Session == 4 updated (was 3)'],
      [false, 'check Max-Daily-Session == 4 already present'],
      [true, 'check Max-Daily-Session < 10 added'],
      [true, 'check Called-Station-Id =~ ^ap- added'],
      [
        { attr: 'Max-Daily-Session', op: '==', value: '4' },
        { attr: 'Max-Daily-Session', op: '<', value: '10' },
        { attr: 'Called-Station-Id', op: '=~', value: '^ap-' },
      ],
    ]);
    expect(outcome.check_attributes).toEqual([
      { id: 20, attr: 'Max-Daily-Session', op: '==', value: '4' },
      { id: null, attr: 'Max-Daily-Session', op: '<', value: '10' },
      { id: null, attr: 'Called-Station-Id', op: '=~', value: '^ap-' },
    ]);
  });

  it('removes rows by attribute and value, and by operator when given', async () => {
    const outcome = await run(`
      log(user.check_attribute_remove({ attr: 'Max-Daily-Session', value: 4, operation: '==' }));
      log(user.check_attribute_remove('Max-Daily-Session', 3, '!='));
      log(user.check_attribute_remove('Max-Daily-Session', 3, '=='));
      log(user.attribute_remove('Session-Timeout', 1800));
      log(user.attribute_remove('Session-Timeout', 1800));
    `);
    expect(outcome.logs.map((l) => JSON.parse(l) as unknown)).toEqual([
      [false, 'check Max-Daily-Session == 4 not present'],
      [false, 'check Max-Daily-Session != 3 not present'],
      [true, 'check Max-Daily-Session == 3 removed'],
      [true, 'reply Session-Timeout := 1800 removed'],
      [false, 'reply Session-Timeout 1800 not present'],
    ]);
    expect(outcome.attributes).toEqual([]);
    expect(outcome.check_attributes).toEqual([]);
  });

  it('lists the allowed operators when given another', async () => {
    expect(await failure(`user.attribute_add('Session-Timeout', 1, '==')`)).toBe(
      'TypeError: user.attribute_add: operation must be one of = := += (got "==")',
    );
    expect(await failure(`user.check_attribute_add('Max-Daily-Session', 1, '~=')`)).toBe(
      'TypeError: user.check_attribute_add: operation must be one of = := += == != > >= < <= =~ !~ =* !* (got "~=")',
    );
    expect(await failure(`user.attribute_remove('Session-Timeout', 1, '<')`)).toMatch(
      /operation must be one of = := \+=/,
    );
  });

  it.each([
    [`user.attribute_add('Session Timeout', 1)`, /attr must be 1 to 64 characters/],
    [`user.attribute_add('', 1)`, /attr must be 1 to 64 characters/],
    [`user.attribute_add('A'.repeat(65), 1)`, /attr must be 1 to 64 characters/],
    [`user.attribute_add('Class', { a: 1 })`, /value must be a string or a finite number \(got object\)/],
    [`user.attribute_add('Class', NaN)`, /value must be a string or a finite number \(got NaN\)/],
    [`user.check_attribute_remove('Class')`, /value must be a string or a finite number \(got undefined\)/],
    [`user.attribute_add('Class', 'x'.repeat(254))`, /value must be at most 253 characters \(got 254\)/],
  ])('validates arguments: %s', async (code, message) => {
    expect(await failure(code)).toMatch(message);
  });

  it('stores numbers as text', async () => {
    const outcome = await run(`user.attribute_add('Acct-Interim-Interval', 0.5, ':=');`);
    expect(outcome.attributes?.at(-1)).toEqual({
      id: null,
      attr: 'Acct-Interim-Interval',
      op: ':=',
      value: '0.5',
    });
  });
});

describe('user.attr', () => {
  it('set upserts; set_many takes missing keys from the call', async () => {
    const outcome = await run(`
      user.attr.set('plan', { tier: 'gold' });
      user.attr.set('note', 'hi', 60, true);
      user.attr.set_many(
        [{ name: 'a', value: 1 }, { name: 'b', value: [2], expiration: 30 }, { name: 'c', value: null, encrypt: false }],
        3600,
        true,
      );
      log(user.attr.get('plan'));
      log(user.attr.names());
    `);
    expect(outcome.logs.map((l) => JSON.parse(l) as unknown)).toEqual([
      { tier: 'gold' },
      ['plan', 'secret', 'note', 'a', 'b', 'c'],
    ]);
    expect(outcome.attrs).toEqual({
      plan: { op: 'set', json: '{"tier":"gold"}', expiration: null, encrypt: false },
      note: { op: 'set', json: '"hi"', expiration: 60, encrypt: true },
      a: { op: 'set', json: '1', expiration: 3600, encrypt: true },
      b: { op: 'set', json: '[2]', expiration: 30, encrypt: true },
      c: { op: 'set', json: 'null', expiration: 3600, encrypt: false },
    });
  });

  it('create fails on an existing name, update on a missing one', async () => {
    expect(await failure(`user.attr.create('plan', 1)`)).toBe(
      'Error: user.attr.create: attribute "plan" already exists',
    );
    expect(await failure(`user.attr.update('nope', 1)`)).toBe(
      'Error: user.attr.update: attribute "nope" does not exist',
    );
    expect(await failure(`user.attr.create_many([{ name: 'x', value: 1 }, { name: 'x', value: 2 }])`)).toBe(
      'Error: user.attr.create_many: attribute "x" already exists',
    );
    const outcome = await run(`
      try { user.attr.create_many([{ name: 'fresh', value: 1 }, { name: 'plan', value: 2 }]); } catch (e) { log(e.message); }
      log(user.attr.exists('fresh'));
      user.attr.create('fresh', 2);
      user.attr.update('plan', 'x', 10);
      user.attr.update_many([{ name: 'fresh', value: 3 }, { name: 'fresh', value: 4 }]);
    `);
    expect(outcome.logs).toEqual(['"user.attr.create_many: attribute \\"plan\\" already exists"', 'false']);
    expect(outcome.attrs).toEqual({
      plan: { op: 'set', json: '"x"', expiration: 10, encrypt: false },
      fresh: { op: 'set', json: '4', expiration: null, encrypt: false },
    });
  });

  it('get, get_many, exists and names see pending writes; values are fresh copies', async () => {
    const out = await logged(`
      const v = user.attr.get('plan'); v.tier = 'changed';
      log(user.attr.get('plan'));
      log(user.attr.get('missing'));
      user.attr.set('n', 5);
      log(user.attr.get_many(['plan', 'n', 'missing']));
      log([user.attr.exists('n'), user.attr.exists('missing')]);
      user.attr.delete('n');
      log(user.attr.names());
    `);
    expect(out).toEqual([
      { tier: 'silver' },
      null,
      { plan: { tier: 'silver' }, n: 5, missing: null },
      [true, false],
      ['plan', 'secret'],
    ]);
  });

  it('collapses writes per name: last wins, expiry folds into a set, delete of a new name vanishes', async () => {
    const outcome = await run(`
      user.attr.set('plan', 1); user.attr.set('plan', 2);
      user.attr.set_expiry('plan', 120);
      user.attr.set('temp', 1); log(user.attr.delete('temp'));
      log(user.attr.delete('temp'));
      log(user.attr.delete_many(['secret', 'nothing']));
    `);
    expect(outcome.logs).toEqual(['true', 'false', '1']);
    expect(outcome.attrs).toEqual({
      plan: { op: 'set', json: '2', expiration: 120, encrypt: false },
      secret: { op: 'delete' },
    });
    const expiry = await run(`user.attr.set_expiry('plan', 30); user.attr.set_expiry('plan', null);`);
    expect(expiry.attrs).toEqual({ plan: { op: 'expiry', expiration: null } });
    expect(await failure(`user.attr.set_expiry('nope', 30)`)).toBe(
      'Error: user.attr.set_expiry: attribute "nope" does not exist',
    );
  });

  it('refuses to read an encrypted value when the run has no key', async () => {
    expect(await failure(`user.attr.get('secret')`)).toMatch(
      /^Error: user\.attr\.get: attribute "secret" is encrypted and this run has no key/,
    );
    const outcome = await run(`user.attr.set('secret', 'new', null, true); log(user.attr.get('secret'));`);
    expect(outcome.logs).toEqual(['"new"']);
  });

  it.each([
    [
      `user.attr.set('', 1)`,
      'TypeError: user.attr.set: name must be a non-empty string of at most 200 characters (got "")',
    ],
    [`user.attr.set('n'.repeat(201), 1)`, /name must be a non-empty string of at most 200 characters/],
    [`user.attr.set('x')`, 'TypeError: user.attr.set: value is undefined, which JSON cannot hold'],
    [`user.attr.set('x', () => 1)`, 'TypeError: user.attr.set: value is a function, which JSON cannot hold'],
    [`user.attr.set('x', 10n)`, 'TypeError: user.attr.set: value is a BigInt, which JSON cannot hold'],
    [
      `const o = {}; o.o = o; user.attr.set('x', o)`,
      'TypeError: user.attr.set: value.o refers back to itself (a cycle)',
    ],
    [
      `user.attr.set('x', 1, -5)`,
      'TypeError: user.attr.set: expiration must be a positive number of seconds or null (got -5)',
    ],
    [`user.attr.set('x', 1, null, 'yes')`, 'TypeError: user.attr.set: encrypt must be a boolean (got "yes")'],
    [
      `user.attr.set_many({ name: 'x', value: 1 })`,
      /^TypeError: user\.attr\.set_many: data must be an array/,
    ],
    [
      `user.attr.set_many([{ name: 'ok', value: 1 }, { name: 7, value: 1 }])`,
      /^TypeError: user\.attr\.set_many: data\[1\]\.name must be/,
    ],
    [
      `user.attr.set_many([{ name: 'ok' }])`,
      'TypeError: user.attr.set_many: data[0].value is undefined, which JSON cannot hold',
    ],
    [`user.attr.set_expiry('plan')`, /^TypeError: user\.attr\.set_expiry: seconds must be/],
    [`user.attr.get_many('plan')`, /^TypeError: user\.attr\.get_many: names must be an array/],
  ])('validates arguments: %s', async (code, message) => {
    if (typeof message === 'string') expect(await failure(code)).toBe(message);
    else expect(await failure(code)).toMatch(message);
  });

  it('applies nothing of a *_many call that fails validation', async () => {
    const outcome = await run(`
      try { user.attr.set_many([{ name: 'a', value: 1 }, { name: 'b' }]); } catch (e) { log(e.name); }
      log(user.attr.exists('a'));
    `);
    expect(outcome.logs).toEqual(['"TypeError"', 'false']);
    expect(outcome.attrs).toBeUndefined();
  });
});

describe('script flow', () => {
  it('skip() ends the script, discards its changes and keeps its logs', async () => {
    const outcome = await run(`
      user.email = 'x@example.org'; user.profile_add('gold'); console.log('before');
      try { skip('not this one'); } catch (e) { console.log('caught'); }
      user.first_name = 'After';
    `);
    expect(outcome).toEqual({ seq, status: 'skipped', message: 'not this one', logs: ['before', 'caught'] });
  });

  it('a throw after changes fails the user with no changes, a message and a location', async () => {
    const outcome = await run(
      `user.email = 'x@example.org'; user.profile_add('gold'); console.log('so far'); null.boom;`,
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      message: "TypeError: Cannot read properties of null (reading 'boom')",
      logs: ['so far'],
    });
    expect(outcome.location).toMatch(/^cases\.js:2:\d+$/);
    expect(outcome.fields).toBeUndefined();
    expect(outcome.profiles).toBeUndefined();
  });

  it('reports thrown non-errors', async () => {
    expect(await failure(`throw 'boom'`)).toBe('Uncaught "boom"');
    expect(await failure(`throw { code: 7 }`)).toBe('Uncaught {"code":7}');
    expect(await failure(`throw undefined`)).toBe('Uncaught undefined');
    expect(await failure(`throw new RangeError('')`)).toBe('RangeError');
  });

  it('return ends the script early, keeping what was done', async () => {
    const outcome = await run(`user.email = 'a@example.org'; return; user.email = 'b@example.org';`);
    expect(outcome).toMatchObject({ status: 'done', fields: { email: 'a@example.org' } });
  });

  it('sees row and params', async () => {
    const out = await logged(`log([Object.keys(row), params, Object.isFrozen(params)]);`);
    expect(out).toEqual([[['code'], { region: 'north' }, true]]);
  });

  it('captures console per user, capped in lines and length', async () => {
    const outcome = await run(`
      console.log('a', 1, true, null, undefined, { k: [1] }, new Date(0), new Error('e'));
      console.info('info'); console.warn('careful'); console.error('bad');
      console.log('x'.repeat(5000));
      for (let i = 0; i < 10; i++) console.log('more', i);
    `);
    expect(outcome.logs.slice(0, 4)).toEqual([
      'a 1 true null undefined {"k":[1]} 1970-01-01T00:00:00.000Z Error: e',
      'info',
      'warn: careful',
      'error: bad',
    ]);
    expect(outcome.logs[4]).toBe(`${'x'.repeat(1000)}…`);
    expect(outcome.logs[5]).toBe(
      '… 10 more lines not kept (the cap is 5 lines per user; --max-log-lines raises it)',
    );
    expect(outcome.logs).toHaveLength(6);
    const next = await run(`console.log('clean slate');`);
    expect(next.logs).toEqual(['clean slate']);
  });

  it('runs a batch in order, one outcome per job', async () => {
    const jobs = ['a', 'b', 'c'].map((name, i) => ({
      seq: 1000 + i,
      user: snapshot({ fields: { username: name } }),
      row: {
        code: `if (user.username === 'b') throw new Error('no b'); user.email = user.username + '@example.net';`,
      },
    }));
    const outcomes = await sandbox.runBatch(jobs);
    expect(outcomes.map((o) => [o.seq, o.status, o.fields?.['email'] ?? o.message])).toEqual([
      [1000, 'done', 'a@example.net'],
      [1001, 'failed', 'Error: no b'],
      [1002, 'done', 'c@example.net'],
    ]);
    expect(await sandbox.runBatch([])).toEqual([]);
  });
});

describe('failure locations', () => {
  it('point into the admin’s file: at the failing call, in its own lines and columns', async () => {
    const source = [
      '// a comment line',
      'const pick = (u) => u.username;',
      'if (row.case === "api") user.profile_add({ id: 1, short_name: "gold" });',
      'if (row.case === "typo")',
      '  user.emial = pick(user);',
      'function deeper() { throw new RangeError("deep"); }',
      'if (row.case === "nested") deeper();',
    ].join('\n');
    const outcomes = await usingSandbox({ ...SETUP, source, filename: 'where.js' }, (s) =>
      s.runBatch(['api', 'typo', 'nested'].map((c, i) => ({ seq: i, user: snapshot(), row: { case: c } }))),
    );
    expect(outcomes.map((o) => [o.message, o.location])).toEqual([
      ['TypeError: user.profile_add: use either id or short_name', 'where.js:3:30'],
      ['TypeError: user has no field "emial" (did you mean email?)', 'where.js:5:14'],
      ['RangeError: deep', 'where.js:6:27'],
    ]);
  });
});
