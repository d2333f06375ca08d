import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ndjson, tempDir } from '../helpers/cli.js';
import { dbQuery, restoreDb, snapshotDb, type Snapshot } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { runJson, writeFile } from '../helpers/run-fixtures.js';

/**
 * The script library (`usrun scripts …`, `usrun run @name@version`), scripts from stdin and
 * TypeScript scripts, on every dialect: versions, the journal naming what ran, resume, removal.
 */

const tmp = tempDir('usrun-scripts-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

const V1 = "// set a description\nuser.description = 'v1';\n";
const V2 = "// set a description\nconst who = user.username;\nuser.description = 'v2 ' + who;\n";
const TS = "// typed\nconst note: string = 'ts ' + user.obj_id;\nuser.description = note;\n";

describe.each(DIALECTS)('%s', (dialect) => {
  let db = '';
  let snapshot: Snapshot;
  beforeAll(async () => {
    db = await testStore(dialect, { demo: 5 });
    snapshot = await snapshotDb(db);
  });
  beforeEach(async () => restoreDb(db, snapshot));

  const cli = (args: string[], options: Parameters<typeof usrun>[1] = {}) =>
    usrun([...args, '--db', db], options);
  const file = (name: string, text: string) => writeFile(tmp.dir, `${dialect}-${name}`, text);
  const versions = async () =>
    (
      await dbQuery<{ name: string; version: number; language: string }>(
        db,
        'SELECT name, version, language FROM scripts ORDER BY name, version',
      )
    ).map((r) => `${r.name}@${r.version}.${r.language}`);

  it('adds versions only for changed text, lists, shows, diffs and removes them', async () => {
    const add1 = await cli(['scripts', 'add', 'describe', file('v1.js', V1)]);
    expect(add1).toMatchObject({ code: 0, stderr: '' });
    expect(add1.stdout).toBe('✓ script describe version 1 saved: run it as @describe@1\n');
    const same = await cli(['scripts', 'add', 'describe', file('v1-again.js', V1)]);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(
      /^script describe unchanged: .*v1-again\.js is the text of its version 1 \(@describe@1\); no new version\n$/,
    );
    expect(await versions()).toEqual(['describe@1.js']);

    expect((await cli(['scripts', 'add', 'describe', file('v2.js', V2), '--json'])).stdout).toBe(
      '{"name":"describe","version":2,"language":"js","created":true}\n',
    );
    expect((await cli(['scripts', 'add', 'describe', file('v3.ts', TS)])).code).toBe(0);
    expect(await versions()).toEqual(['describe@1.js', 'describe@2.js', 'describe@3.ts']);

    const list = await cli(['scripts', 'list']);
    expect(list.stdout).toMatch(
      /^NAME {6}VERSION {2}VERSIONS {2}LANGUAGE {2}ADDED \(UTC\) {10}BY\ndescribe {2}3 {8}3 {9}ts {8}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}\S+@\S+\n$/,
    );

    const show1 = await cli(['scripts', 'show', 'describe@1']);
    expect(show1.stdout).toBe(V1);
    expect(show1.stderr).toMatch(/^@describe@1 \(js\), added \d{4}-.* by \S+@\S+\n$/);
    expect((await cli(['scripts', 'show', '@describe'])).stdout).toBe(TS);
    const json = JSON.parse((await cli(['scripts', 'show', 'describe@2', '--json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(json).toMatchObject({ name: 'describe', version: 2, language: 'js', text: V2 });

    const diff = await cli(['scripts', 'diff', 'describe', '1', '2']);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toBe(
      [
        '--- @describe@1 (js)',
        '+++ @describe@2 (js)',
        '@@ -1,2 +1,3 @@',
        ' // set a description',
        "-user.description = 'v1';",
        '+const who = user.username;',
        "+user.description = 'v2 ' + who;",
        '',
      ].join('\n'),
    );
    const none = await cli(['scripts', 'diff', 'describe', '2', '2']);
    expect(none).toMatchObject({
      code: 0,
      stdout: '',
      stderr: '@describe@2 and @describe@2 have the same text\n',
    });
    const missing = await cli(['scripts', 'diff', 'describe', '1', '9']);
    expect(missing).toMatchObject({
      code: 2,
      stderr: 'usrun: script describe has no version 9: it has 1, 2, 3\n',
    });

    const rm = await cli(['scripts', 'rm', 'describe']);
    expect(rm.stdout).toBe(
      '✓ script describe removed (3 versions); runs that ran it keep its name, version and text in the journal\n',
    );
    expect(await cli(['scripts', 'list'])).toMatchObject({ code: 0, stdout: '' });
    expect(await cli(['scripts', 'show', 'describe'])).toMatchObject({
      code: 2,
      stderr: 'usrun: no saved script describe (it was removed): see `usrun scripts list`\n',
    });
    expect((await cli(['scripts', 'rm', 'describe'])).code).toBe(2);
    // Added again, it goes on from its last number: @describe@1 keeps meaning what it meant.
    expect((await cli(['scripts', 'add', 'describe', file('v1-back.js', V1)])).stdout).toContain(
      'version 4 saved',
    );
    expect((await cli(['scripts', 'show', 'describe@1'])).stderr).toBe(
      'usrun: script describe has no version 1 (it was removed): it has 4\n',
    );
  });

  it('refuses bad names and versions with exit 2, writing nothing', async () => {
    const script = file('ok.js', V1);
    for (const [args, message] of [
      [
        ['scripts', 'add', 'bad name', script],
        'bad script name "bad name": use 1 to 64 letters, digits, "_" or "-", starting with a letter or digit',
      ],
      [['scripts', 'add', '_lead', script], 'bad script name "_lead"'],
      [['scripts', 'add', 'x'.repeat(65), script], 'bad script name'],
      [['scripts', 'add', 'a@b', script], 'bad script name "a@b"'],
      [['scripts', 'show', 'describe@0'], 'bad script version "0" in "describe@0": a whole number ≥ 1'],
      [['run', '@nope', '--all'], 'no saved script nope: see `usrun scripts list`'],
      [['run', '@no pe@2', '--all'], 'bad script name "no pe"'],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`usrun: ${message}`);
    }
    expect(await versions()).toEqual([]);
    expect(await dbQuery(db, 'SELECT count(*) AS n FROM runs')).toEqual([{ n: 0 }]);
  });

  it('runs @name@2, journals the name and version with the text, and keeps them readable after rm', async () => {
    await cli(['scripts', 'add', 'describe', file('v1.js', V1)]);
    await cli(['scripts', 'add', 'describe', file('v2.js', V2)]);

    const two = await runJson(['run', '@describe@1', '--filter', 'obj_id eq 1', '--db', db]);
    expect(two.summary).toMatchObject({ changed: 1, status: 'completed' });
    const run = await runJson(['run', '@describe@2', '--all', '--db', db]);
    expect(run.code).toBe(0);
    expect(run.summary).toMatchObject({ changed: 5, status: 'completed' });
    expect(await dbQuery(db, 'SELECT description FROM users WHERE obj_id = 3')).toEqual([
      { description: expect.stringMatching(/^v2 \S+$/) },
    ]);
    const rows = await dbQuery(
      db,
      'SELECT id, script_name, script_version, script_path, script_text FROM runs ORDER BY id',
    );
    expect(rows).toEqual([
      { id: 1, script_name: 'describe', script_version: 1, script_path: 'describe@1.js', script_text: V1 },
      { id: 2, script_name: 'describe', script_version: 2, script_path: 'describe@2.js', script_text: V2 },
    ]);
    // Newest when no version is given.
    const newest = await runJson(['run', '@describe', '--filter', 'obj_id eq 1', '--db', db]);
    expect(newest.summary).toMatchObject({ unchanged: 1 });
    expect(await dbQuery(db, 'SELECT script_version FROM runs WHERE id = 3')).toEqual([
      { script_version: 2 },
    ]);

    await cli(['scripts', 'rm', 'describe']);
    const list = await cli(['runs', 'list']);
    expect(list.stdout.split('\n').filter((l) => /^[12] /.test(l))).toEqual([
      expect.stringMatching(/^2 +\S+ \S+ +@describe@2 +completed +5 +5 +0 /),
      expect.stringMatching(/^1 +\S+ \S+ +@describe@1 +completed +1 +1 +0 /),
    ]);
    const show = await cli(['runs', 'show', '2']);
    expect(show.stdout.split('\n')[0]).toBe('run 2 completed — @describe@2');
    expect((await cli(['runs', 'show', '2', '--script'])).stdout).toBe(V2);
    const asJson = ndjson((await cli(['runs', 'show', '2', '--json'])).stdout)[0]?.['run'] as Record<
      string,
      unknown
    >;
    expect(asJson).toMatchObject({ script_name: 'describe', script_version: 2 });
  });

  it('resumes a run of a saved script with its journaled text, even once the script is removed', async () => {
    const failing = "if (user.obj_id === 2) throw new Error('boom');\nuser.description = 'saved';\n";
    await cli(['scripts', 'add', 'flaky', file('flaky.js', failing)]);
    const first = await runJson(['run', '@flaky', '--all', '--max-errors', '1', '--db', db]);
    expect(first.summary).toMatchObject({ status: 'stopped', changed: 1, failed: 1 });
    expect(first.items[1]?.['error']).toEqual({ message: 'Error: boom', location: 'flaky@1.js:1:30' });
    await cli(['scripts', 'add', 'flaky', file('flaky2.js', "user.description = 'other';\n")]);
    // Naming another version of it is refused, like another file.
    const other = await cli(['run', '--resume', '1', '@flaky@2']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('usrun: @flaky@2 is not the script run 1 ran (sha256 differs)');
    await cli(['scripts', 'rm', 'flaky']);
    const resumed = await runJson(['run', '--resume', '1', '--db', db]);
    expect(resumed.summary).toMatchObject({ status: 'completed', changed: 4, failed: 1 });
    expect(await dbQuery(db, "SELECT count(*) AS n FROM users WHERE description = 'saved'")).toEqual([
      { n: 4 },
    ]);
    expect(await dbQuery(db, 'SELECT script_name, script_version, status FROM runs')).toEqual([
      { script_name: 'flaky', script_version: 1, status: 'completed' },
    ]);
  });

  it('runs a script read from stdin (`usrun run -`), journaled as <stdin>', async () => {
    const text = "// from a pipe\nif (user.obj_id === 4) null.x;\nuser.description = 'piped';\n";
    const run = await runJson(['run', '-', '--all', '--db', db], { stdin: text });
    expect(run.summary).toMatchObject({ changed: 4, failed: 1 });
    expect(run.items[3]?.['error']).toEqual({
      message: "TypeError: Cannot read properties of null (reading 'x')",
      location: '<stdin>:2:29',
    });
    expect(await dbQuery(db, 'SELECT script_path, script_name, script_text FROM runs')).toEqual([
      { script_path: '<stdin>', script_name: null, script_text: text },
    ]);
    expect((await cli(['runs', 'list'])).stdout).toMatch(/^1 .* <stdin> +completed /m);
    expect(await cli(['run', '-', '--all'], { stdin: '\n' })).toMatchObject({
      code: 2,
      stderr: 'usrun: the script from stdin is empty: nothing to run\n',
    });
    const tty = await cli(['run', '-', '--all'], { answer: false });
    expect(tty.code).toBe(2);
    expect(tty.stderr).toContain('reads the script from stdin, which is a terminal');
    expect(await dbQuery(db, 'SELECT count(*) AS n FROM runs')).toEqual([{ n: 1 }]);
    const empty = await cli(['scripts', 'add', 'piped', '-'], { stdin: text });
    expect(empty.code).toBe(0);
    expect((await cli(['scripts', 'show', 'piped'])).stdout).toBe(text);
  });

  it('runs a TypeScript script, file or saved, with error locations in the .ts file', async () => {
    const ts = file(
      'typed.ts',
      [
        'interface Plan { note: string }',
        "const plan: Plan = { note: 'typed' };",
        'const id: number = user.obj_id;',
        'if (id === 3) (null as unknown as { x: number }).x;',
        'user.description = `${plan.note} ${id}`;',
        '',
      ].join('\n'),
    );
    const run = await runJson(['run', ts, '--all', '--db', db]);
    expect(run.summary).toMatchObject({ changed: 4, failed: 1 });
    expect(run.items[2]?.['error']).toEqual({
      message: "TypeError: Cannot read properties of null (reading 'x')",
      location: `${dialect}-typed.ts:4:50`,
    });
    expect(await dbQuery(db, 'SELECT description FROM users WHERE obj_id = 5')).toEqual([
      { description: 'typed 5' },
    ]);

    await cli(['scripts', 'add', 'typed', ts]);
    const saved = await runJson(['run', '@typed', '--filter', 'obj_id eq 3', '--db', db]);
    expect(saved.items[0]?.['error']).toMatchObject({ location: 'typed@1.ts:4:50' });
  });

  it('reports a .ts syntax error with its line and column before any user runs (exit 2)', async () => {
    const broken = file(
      'broken.ts',
      "const a: number = 1;\n\nconst b: = user.obj_id;\nuser.description = 'x';\n",
    );
    const r = await cli(['run', broken, '--all']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `usrun: ${dialect}-broken.ts:3:10: SyntaxError: Unexpected token \`=\`. Expected an identifier, void, yield, null, await, break, a string literal, a numeric literal, true, false, \`, -, import, this, typeof, {, [, (\n`,
    );
    // A JavaScript syntax error after stripping is V8's, at the .ts position too.
    const late = await cli([
      'run',
      file('late.ts', 'const n: number = 1;\nuser.description = (n as number) +;\n'),
      '--all',
    ]);
    expect(late).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^usrun: \S+-late\.ts:2:3\d: SyntaxError: /),
    });
    const unclosed = await cli([
      'run',
      file('open.ts', 'if (user.obj_id > 1) {\n  user.description = "x";\n'),
      '--all',
    ]);
    expect(unclosed).toMatchObject({
      code: 2,
      stderr: `usrun: ${dialect}-open.ts:3:1: SyntaxError: Unexpected end of input\n`,
    });
    const enumTs = await cli(['run', file('enum.ts', 'const x = 1;\nenum Tier { Gold }\n'), '--all']);
    expect(enumTs).toMatchObject({
      code: 2,
      stderr: `usrun: ${dialect}-enum.ts:2:1: SyntaxError: TypeScript enum is not supported in strip-only mode\n`,
    });
    // And a saved .ts is checked when added.
    const add = await cli(['scripts', 'add', 'broken', broken]);
    expect(add.code).toBe(2);
    expect(add.stderr).toContain(`${dialect}-broken.ts:3:10: SyntaxError`);
    expect(await dbQuery(db, 'SELECT count(*) AS n FROM runs')).toEqual([{ n: 0 }]);
    expect(await versions()).toEqual([]);
  });
});
