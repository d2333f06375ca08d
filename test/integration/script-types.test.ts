/**
 * `usrun types`: the declarations type-check every example script (tsc, through its API, with the
 * tsconfig the README suggests), catch a misspelled field, a read-only field and a wrong
 * operator, and name exactly what a script finds in the real sandbox (so they cannot drift).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ATTR_METHODS,
  CONSOLE_METHODS,
  SCRIPT_GLOBALS,
  USER_METHODS,
  USER_READERS,
} from '../../src/model/script-api.js';
import { usingSandbox } from '../../src/sandbox/using-sandbox.js';
import { USER_FIELDS } from '../../src/store/user-fields.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { usrun } from '../helpers/in-process.js';

const tmp = tempDir('usrun-types-');
afterAll(() => tmp.cleanup());

/** The compiler options the README gives for a scripts folder. */
const OPTIONS: ts.CompilerOptions = {
  lib: ['lib.es2023.d.ts'],
  types: [],
  strict: true,
  noEmit: true,
  allowJs: true,
  checkJs: true,
  moduleDetection: ts.ModuleDetectionKind.Force,
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2023,
};

async function declarations(): Promise<string> {
  const out = join(tmp.dir, 'usrun-script.d.ts');
  const result = await usrun(['types', '--out', out]);
  expect(result.code).toBe(0);
  expect(result.stderr).toContain(`wrote ${out}`);
  return out;
}

/** tsc's diagnostics for `files` checked with the declarations, as `file:line:col: message`. */
function check(dts: string, files: string[]): string[] {
  const program = ts.createProgram([dts, ...files], OPTIONS);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName.split('/').pop()}:${line + 1}:${character + 1}: ${text}`;
  });
}

describe('usrun types', () => {
  it('type-checks every example script in scripts-examples/', async () => {
    const dts = await declarations();
    const dir = join(ROOT, 'scripts-examples');
    const examples = readdirSync(dir)
      .filter((f) => /\.(js|ts)$/.test(f))
      .map((f) => join(dir, f));
    expect(examples.length).toBeGreaterThan(10);
    expect(examples.some((f) => f.endsWith('.ts'))).toBe(true);
    expect(check(dts, examples)).toEqual([]);
  });

  it('fails a misspelled field, a read-only field, a wrong type and a wrong operator', async () => {
    const dts = await declarations();
    const bad = join(tmp.dir, 'bad.js');
    writeFileSync(
      bad,
      [
        "user.emial = 'a@b.c';",
        'user.obj_id = 3;',
        "user.is_active = 'yes';",
        "user.attribute_add('Session-Timeout', 3600, '==');",
        "const [ok, why] = user.profile_add({ short_name: 'gold' });",
        'if (ok) console.log(why.toUpperCase());',
        "user.expiration = '2027-01-01';",
        "user.attr.set('plan', { tier: 'gold' }, 3600, true);",
      ].join('\n'),
    );
    const problems = check(dts, [bad]);
    expect(problems).toEqual([
      expect.stringMatching(
        /^bad\.js:1:6: Property 'emial' does not exist on type 'UsrunUser'\. Did you mean 'email'\?/,
      ),
      expect.stringMatching(/^bad\.js:2:6: Cannot assign to 'obj_id' because it is a read-only property/),
      expect.stringMatching(/^bad\.js:3:1: Type 'string' is not assignable to type 'boolean'/),
      expect.stringMatching(
        /^bad\.js:4:45: Argument of type '"=="' is not assignable to parameter of type 'UsrunReplyOp \| undefined'/,
      ),
    ]);
  });

  it('declares exactly the fields, readers, methods and globals a script finds in the sandbox', async () => {
    const source = `
      const attrProto = Object.getPrototypeOf(user.attr);
      const globals = {};
      for (const name of ${JSON.stringify(Object.keys(SCRIPT_GLOBALS))}) {
        const d = Object.getOwnPropertyDescriptor(globalThis, name);
        globals[name] = d !== undefined && !d.configurable && (d.get !== undefined || d.writable === false);
      }
      console.log(JSON.stringify({
        keys: Object.keys(user).concat(Reflect.ownKeys(user).filter((k) => !Object.keys(user).includes(k))),
        writable: Object.keys(user).filter((k) => Object.getOwnPropertyDescriptor(user, k).writable),
        attr: Object.getOwnPropertyNames(attrProto).filter((k) => typeof attrProto[k] === 'function'),
        console: Object.keys(console),
        globals,
      }));`;
    const outcome = await usingSandbox(
      {
        source,
        filename: 'probe.js',
        params: {},
        profiles: [],
        timeoutMs: 2000,
        memoryMb: 64,
        maxLogLines: 5,
      },
      async (sandbox) => {
        const fields = Object.fromEntries(USER_FIELDS.map((f) => [f.name, null]));
        const user = { ...fields, obj_id: 1, username: 'a', is_active: true };
        const job = { fields: user, profiles: [], attributes: [], check_attributes: [], attrs: [] };
        const [o] = await sandbox.runBatch([{ seq: 1, user: job, row: null }]);
        return o;
      },
    );
    expect(outcome?.status, JSON.stringify(outcome)).not.toBe('failed');
    const seen = JSON.parse(String(outcome?.logs?.[0])) as Record<string, unknown>;
    expect(seen['keys']).toEqual([
      ...USER_FIELDS.map((f) => f.name),
      ...Object.keys(USER_READERS),
      ...Object.keys(USER_METHODS),
    ]);
    expect(seen['writable']).toEqual(USER_FIELDS.filter((f) => f.writable).map((f) => f.name));
    expect([...(seen['attr'] as string[])].sort()).toEqual(Object.keys(ATTR_METHODS).sort());
    expect(seen['console']).toEqual(Object.keys(CONSOLE_METHODS));
    expect(seen['globals']).toEqual(Object.fromEntries(Object.keys(SCRIPT_GLOBALS).map((g) => [g, true])));
  });

  it('prints to stdout without --out', async () => {
    const result = await usrun(['types']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('declare const user: UsrunUser;');
    expect(result.stdout).toMatch(/^ {2}readonly obj_id: number;$/m);
    expect(result.stdout).toMatch(/^ {2}set expiration\(value: Date \| string \| null\);$/m);
  });
});
