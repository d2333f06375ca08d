import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { dbQuery, dumpDb } from '../helpers/db.js';
import { fixtureDb } from '../helpers/fixture-db.js';
import { DIALECTS, dropTestDbs } from '../helpers/dialects.js';
import {
  addMembership,
  addProfiles,
  addUsers,
  itemFor,
  profileNames,
  runJson,
  userRows,
  writeFile,
} from '../helpers/run-fixtures.js';

/**
 * SPEC §5 through the CLI: whatever goes wrong for one user (a throw, a timeout, the memory limit,
 * a builtin that ignores both, a database error) fails that user only, writes nothing of it, and
 * the run goes on; --max-errors / --fail-fast stop it; nothing of the host is visible to scripts
 * and poisoning builtins does not forge changes.
 */

const USERS = 20;
const tmp = tempDir('usrun-failures-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

describe.each(DIALECTS)('%s', (dialect) => {
  const freshDb = fixtureDb(dialect, async (template) => {
    await addProfiles(template, [
      [1, 'aaa-01', 'Basic'],
      [2, 'gold', 'Gold'],
      [3, 'staff', 'Staff'],
    ]);
    await addUsers(
      template,
      Array.from({ length: USERS }, (_, i) => ({
        obj_id: i + 1,
        username: `user${i + 1}`,
        email: `User${i + 1}@Example.org`,
        klass: 'residential',
      })),
    );
    for (let id = 1; id <= USERS; id++) await addMembership(template, id, 1);
  });

  const statuses = (run: { items: Record<string, any>[] }) =>
    run.items.map((i) => [i['user_id'], i['status']]);
  const descriptions = async (db: string) =>
    (
      await dbQuery<{ obj_id: number; description: string | null }>(
        db,
        'SELECT obj_id, description FROM users ORDER BY obj_id',
      )
    ).map((u) => u.description);

  describe('a script that throws', () => {
    it('leaves that user untouched, changes the others, exits 1 and reports the message and location', async () => {
      const db = await freshDb();
      const source = `user.description = 'changed';
user.profile_add('gold');
if (user.obj_id === 3) throw new Error('boom for ' + user.username);
`;
      const script = writeFile(tmp.dir, 'throws.js', source);
      const before = await userRows(db, 3);
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id le 5']);
      expect(run.code).toBe(1);
      expect(statuses(run)).toEqual([
        [1, 'changed'],
        [2, 'changed'],
        [3, 'failed'],
        [4, 'changed'],
        [5, 'changed'],
      ]);
      expect(itemFor(run, 3)).toMatchObject({
        changes: [],
        error: { message: 'Error: boom for user3', location: 'throws.js:3:30' },
      });
      expect(await userRows(db, 3)).toEqual(before);
      for (const id of [1, 2, 4, 5]) expect(await profileNames(db, id)).toEqual(['aaa-01', 'gold']);
      expect((await descriptions(db)).slice(0, 6)).toEqual([
        'changed',
        'changed',
        null,
        'changed',
        'changed',
        null,
      ]);
      expect(run.summary).toMatchObject({ selected: 5, changed: 4, failed: 1, status: 'completed' });
      // The journal records the failure with its message, and no change for that user.
      const runId = run.summary['run_id'] as number;
      expect(
        await dbQuery(db, 'SELECT status, error FROM run_items WHERE run_id = ? AND user_id = 3', [runId]),
      ).toEqual([{ status: 'failed', error: expect.stringContaining('boom for user3') }]);
      expect(
        await dbQuery(db, 'SELECT count(*) AS n FROM run_changes WHERE run_id = ? AND user_id = 3', [runId]),
      ).toEqual([{ n: 0 }]);
    });
  });

  describe('--max-errors and --fail-fast', () => {
    const source =
      "if (user.obj_id % 2 === 0) throw new Error('even ' + user.obj_id);\nuser.description = 'odd';\n";

    it('--max-errors 2 stops after the second failed user: run stopped, later users untouched', async () => {
      const db = await freshDb();
      const script = writeFile(tmp.dir, 'even.js', source);
      const run = await runJson(['run', script, '--db', db, '--all', '--max-errors', '2']);
      expect(run.code).toBe(1);
      expect(statuses(run)).toEqual([
        [1, 'changed'],
        [2, 'failed'],
        [3, 'changed'],
        [4, 'failed'],
      ]);
      expect(run.summary).toMatchObject({ selected: 4, changed: 2, failed: 2, status: 'stopped' });
      expect(await descriptions(db)).toEqual(['odd', null, 'odd', ...Array<null>(USERS - 3).fill(null)]);
      const runId = run.summary['run_id'] as number;
      expect(await dbQuery(db, 'SELECT status, counts FROM runs WHERE id = ?', [runId])).toEqual([
        {
          status: 'stopped',
          counts: JSON.stringify({
            selected: 4,
            changed: 2,
            unchanged: 0,
            skipped: 0,
            failed: 2,
            not_found: 0,
          }),
        },
      ]);
      expect(await dbQuery(db, 'SELECT count(*) AS n FROM run_items WHERE run_id = ?', [runId])).toEqual([
        { n: 4 },
      ]);
    });

    it('--fail-fast stops at the first failed user', async () => {
      const db = await freshDb();
      const script = writeFile(tmp.dir, 'even-ff.js', source);
      const run = await runJson(['run', script, '--db', db, '--all', '--fail-fast']);
      expect(run.code).toBe(1);
      expect(statuses(run)).toEqual([
        [1, 'changed'],
        [2, 'failed'],
      ]);
      expect(run.summary).toMatchObject({ selected: 2, changed: 1, failed: 1, status: 'stopped' });
      expect(await descriptions(db)).toEqual(['odd', ...Array<null>(USERS - 1).fill(null)]);
      expect(await dbQuery(db, 'SELECT status FROM runs')).toEqual([{ status: 'stopped' }]);
      expect(await dbQuery(db, 'SELECT count(*) AS n FROM run_items')).toEqual([{ n: 2 }]);
    });
  });

  describe('database errors', () => {
    it('a duplicate username fails the second user with a message; the first is changed', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'same-name.js',
        "user.description = 'renamed';\nuser.username = 'same.name';\n",
      );
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id le 3']);
      expect(run.code).toBe(1);
      expect(statuses(run)).toEqual([
        [1, 'changed'],
        [2, 'failed'],
        [3, 'failed'],
      ]);
      for (const id of [2, 3])
        expect(itemFor(run, id)['error']['message']).toMatch(/username.*(taken|unique|duplicate|exists)/i);
      expect(
        await dbQuery(
          db,
          'SELECT obj_id, username, description FROM users WHERE obj_id <= 3 ORDER BY obj_id',
        ),
      ).toEqual([
        { obj_id: 1, username: 'same.name', description: 'renamed' },
        { obj_id: 2, username: 'user2', description: null },
        { obj_id: 3, username: 'user3', description: null },
      ]);
      expect(await dbQuery(db, 'SELECT count(*) AS n FROM run_changes WHERE user_id IN (2, 3)')).toEqual([
        { n: 0 },
      ]);
    });
  });

  describe('limits', () => {
    it('--timeout: an endless loop fails only that user; the users after it still run', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'loop.js',
        "if (user.obj_id === 2 || user.obj_id === 7) { user.description = 'x'; while (true) {} }\nuser.description = 'ok';\n",
      );
      const started = Date.now();
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id le 10', '--timeout', '200']);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(run.code).toBe(1);
      expect(
        run.items.filter((i) => i['status'] === 'failed').map((i) => [i['user_id'], i['error']['message']]),
      ).toEqual([
        [2, 'script timed out after 200 ms (--timeout raises the limit)'],
        [7, 'script timed out after 200 ms (--timeout raises the limit)'],
      ]);
      expect(run.summary).toMatchObject({ selected: 10, changed: 8, failed: 2, status: 'completed' });
      expect((await descriptions(db)).slice(0, 10)).toEqual([
        'ok',
        null,
        'ok',
        'ok',
        'ok',
        'ok',
        null,
        'ok',
        'ok',
        'ok',
      ]);
    });

    it('--memory: allocating without end fails only that user; the sandbox comes back for the others', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'hog.js',
        "if (user.obj_id === 2) { const a = []; while (true) a.push({ n: a.length, s: 'y'.repeat(64) + a.length }); }\nuser.description = 'ok';\n",
      );
      // A generous timeout: on a loaded machine the memory limit must still come first.
      const run = await runJson([
        'run',
        script,
        '--db',
        db,
        '--filter',
        'obj_id le 4',
        '--memory',
        '16',
        '--timeout',
        '30000',
      ]);
      expect(run.code).toBe(1);
      expect(statuses(run)).toEqual([
        [1, 'changed'],
        [2, 'failed'],
        [3, 'changed'],
        [4, 'changed'],
      ]);
      expect(itemFor(run, 2)['error']['message']).toBe(
        'script exceeded the memory limit of 16 MB (--memory raises the limit)',
      );
      expect((await descriptions(db)).slice(0, 5)).toEqual(['ok', null, 'ok', 'ok', null]);
    });

    it('a builtin that ignores the timeout (a huge BigInt parse) is killed at the deadline; only that user fails', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'bigint.js',
        "if (user.obj_id === 2) BigInt('7'.repeat(6e7));\nuser.description = 'ok';\n",
      );
      const started = Date.now();
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id le 4', '--timeout', '200']);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(run.code).toBe(1);
      expect(statuses(run)).toEqual([
        [1, 'changed'],
        [2, 'failed'],
        [3, 'changed'],
        [4, 'changed'],
      ]);
      expect(itemFor(run, 2)['error']['message']).toMatch(
        /timed out|memory limit|sandbox process died|wall-clock watchdog/,
      );
      expect(run.summary).toMatchObject({ status: 'completed', changed: 3, failed: 1 });
      expect((await descriptions(db)).slice(0, 5)).toEqual(['ok', null, 'ok', 'ok', null]);
    });

    it('an allocation that escapes the heap limit (new Array(2e8).fill(0)) fails only that user', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'fill.js',
        "if (user.obj_id === 2) new Array(2e8).fill(0);\nuser.description = 'ok';\n",
      );
      const started = Date.now();
      const run = await runJson([
        'run',
        script,
        '--db',
        db,
        '--filter',
        'obj_id le 4',
        '--memory',
        '64',
        '--timeout',
        '500',
      ]);
      expect(Date.now() - started).toBeLessThan(25_000);
      expect(run.code).toBe(1);
      expect(statuses(run)).toEqual([
        [1, 'changed'],
        [2, 'failed'],
        [3, 'changed'],
        [4, 'changed'],
      ]);
      expect(itemFor(run, 2)['error']['message']).toMatch(
        /timed out|memory limit|sandbox process died|wall-clock watchdog/,
      );
      expect(run.summary).toMatchObject({ status: 'completed', changed: 3, failed: 1 });
      expect((await descriptions(db)).slice(0, 5)).toEqual(['ok', null, 'ok', 'ok', null]);
    }, 40_000);
  });

  describe('the sandbox', () => {
    const STANDARD_GLOBALS = new Set(
      `AggregateError Array ArrayBuffer AsyncDisposableStack BigInt BigInt64Array BigUint64Array Boolean DataView Date
     DisposableStack Error EvalError FinalizationRegistry Float16Array Float32Array Float64Array Function Infinity Int16Array
     Int32Array Int8Array Intl Iterator JSON Map Math NaN Number Object Promise Proxy RangeError ReferenceError Reflect RegExp
     Set String SuppressedError Symbol SyntaxError TypeError URIError Uint16Array Uint32Array Uint8Array Uint8ClampedArray
     WeakMap WeakRef WeakSet decodeURI decodeURIComponent encodeURI encodeURIComponent escape eval globalThis isFinite isNaN
     parseFloat parseInt undefined unescape user obj row params console skip`.split(/\s+/),
    );

    it('shows nothing of the host to a script, however it looks', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'escape.js',
        `const r = {};
const t = (k, f) => { try { r[k] = f(); } catch (e) { r[k] = 'threw ' + (e && e.name); } };
t('require', () => typeof require);
t('process', () => typeof process);
t('module', () => typeof module);
t('Buffer', () => typeof Buffer);
t('setTimeout', () => typeof setTimeout);
t('queueMicrotask', () => typeof queueMicrotask);
t('WebAssembly', () => typeof WebAssembly);
t('fetch', () => typeof fetch);
t('Function', () => globalThis.constructor.constructor('return typeof process')());
t('userCtor', () => { const g = user.constructor.constructor('return this')(); return typeof g.process + ' ' + typeof g.require; });
t('methodCtor', () => user.profile_add.constructor('return typeof process + typeof require')());
t('consoleCtor', () => console.log.constructor('return typeof process')());
t('protoCtor', () => Object.getPrototypeOf(user).constructor.constructor('return typeof process')());
t('eval', () => eval('typeof process + typeof require'));
t('indirectEval', () => (0, eval)('typeof process'));
t('caller', () => { function f() { return typeof f.caller; } return f(); });
t('callSites', () => {
  Error.prepareStackTrace = (e, frames) => frames;
  try { user.profile_add({ id: 'x' }); } catch (e) {
    const frames = e.stack;
    delete Error.prepareStackTrace;
    // Call sites of the prelude must not hand out its functions or receivers.
    return frames.map((f) => typeof f.getFunction() + typeof f.getThis()).filter((t) => t !== 'undefinedundefined').join(',') || 'undefined';
  }
});
t('stack', () => new Error('x').stack.split('\\n').filter((l) => /node:|\\.ts|dist\\/|isolated-vm|\\/work\\//.test(l)).length);
console.log(JSON.stringify(r));
console.log(Object.getOwnPropertyNames(globalThis).join(' '));
`,
      );
      const before = await dumpDb(db, { journal: false });
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id eq 1']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const item = itemFor(run, 1);
      expect(item['status']).toBe('unchanged');
      const [probes, globals] = item['logs'] as [string, string];
      const { caller, stack, ...typeofs } = JSON.parse(probes) as Record<string, unknown>;
      expect(Object.keys(typeofs)).toHaveLength(16);
      for (const [probe, value] of Object.entries(typeofs))
        expect([probe, value]).toEqual([probe, expect.stringMatching(/^(undefined ?)+$/)]);
      expect(caller).toMatch(/^(threw TypeError|undefined|object)$/); // strict mode: no access to callers
      expect(stack).toBe(0); // no host file paths in stack traces
      const unexpected = String(globals)
        .split(' ')
        .filter((g) => !STANDARD_GLOBALS.has(g));
      expect(unexpected).toEqual([]);
      expect(await dumpDb(db, { journal: false })).toEqual(before);
    });

    it('poisoned builtins and prototypes do not forge changes the script did not make through the API', async () => {
      const db = await freshDb();
      const script = writeFile(
        tmp.dir,
        'tamper.js',
        `const P = Object.getPrototypeOf(user);
P.is_active = false;
P.description = 'pwned';
P.klass = 'evil';
try { Object.defineProperty(P, 'profiles', { get() { return [{ id: 3 }]; }, configurable: true }); } catch (e) {}
try { Object.setPrototypeOf(user, { username: 'evil' }); } catch (e) {}
const push = Array.prototype.push;
if (!globalThis.poisoned) {
  globalThis.poisoned = true;
  Array.prototype.push = function (...a) { push.apply(this, a); return push.apply(this, [{ id: 3, short_name: 'staff', priority: 9 }]); };
  Array.prototype.map = function () { return ['evil']; };
  Array.prototype.join = function () { return '3,9'; };
  Array.isArray = () => false;
  JSON.stringify = () => '{"is_active":false}';
  JSON.parse = () => ({ is_active: false });
  Object.prototype.toJSON = function () { return { is_active: false }; };
  String.prototype.toLowerCase = () => 'evil';
  Object.keys = () => ['is_active'];
  Object.defineProperty(Object.prototype, 'values', { get() { return ['pwned']; }, set(v) {}, configurable: true });
  Object.defineProperty(Object.prototype, 'changes', { get() { return [{ kind: 'field', target: 'is_active', after: false }]; }, configurable: true });
}
// A user object kept from the previous user must not reach that user (nor this one).
if (globalThis.previous) {
  try { globalThis.previous.description = 'hijacked'; } catch (e) {}
  try { globalThis.previous.profile_add('staff'); } catch (e) {}
}
globalThis.previous = user;
const me = user.obj_id;
Promise.resolve().then(() => { user.first_name = 'late ' + me; });
user.email = 't' + user.obj_id + '@ok.example';
user.profile_add('gold');
user.attribute_add('Idle-Timeout', 600, ':=');
`,
      );
      const before = await dumpDb(db, { journal: false });
      const run = await runJson(['run', script, '--db', db, '--filter', 'obj_id le 4']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.summary).toMatchObject({ selected: 4, changed: 4 });
      for (const item of run.items) {
        const changes = (item['changes'] as { kind: string; target: string }[]).map(
          (c) => `${c.kind} ${c.target}`,
        );
        // The promise callback runs before its own user is done: its change is that user's.
        expect(changes.sort()).toEqual([
          'field email',
          'field first_name',
          'field last_update',
          'profile gold',
          'reply Idle-Timeout',
        ]);
      }
      type U = Record<string, unknown> & { obj_id: number };
      const users = (await dumpDb(db))['users'] as U[];
      users.forEach((u, i) => {
        const was = (before['users'] as U[])[i] as U;
        if (u.obj_id > 4) expect(u).toEqual(was);
        else
          expect(u).toEqual({
            ...was,
            email: `t${u.obj_id}@ok.example`,
            first_name: `late ${u.obj_id}`,
            last_update: u['last_update'],
          });
      });
      for (let id = 1; id <= USERS; id++)
        expect(await profileNames(db, id)).toEqual(id <= 4 ? ['aaa-01', 'gold'] : ['aaa-01']);
      expect(
        await dbQuery(db, 'SELECT user_id, attr, op, value FROM reply_attributes ORDER BY user_id'),
      ).toEqual([1, 2, 3, 4].map((id) => ({ user_id: id, attr: 'Idle-Timeout', op: ':=', value: '600' })));
      expect(await dbQuery(db, 'SELECT count(*) AS n FROM check_attributes')).toEqual([{ n: 0 }]);
    });
  });
});
