import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { dumpDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { HAS_SCRIPT_PTY, startCliInPty } from '../helpers/pty.js';
import { writeFile } from '../helpers/run-fixtures.js';

/**
 * The `[y/N]` prompts of `run` and `runs undo` on a real terminal: Ctrl-C, Ctrl-D and "n" end
 * the command with a one-line message and a documented exit code (130, 1, 1), never a stack
 * trace, and nothing is written.
 */

const tmp = tempDir('usrun-prompts-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

const script = writeFile(tmp.dir, 'rename.js', 'user.first_name = "Renamed";');

const KEYS = [
  {
    name: 'Ctrl-C',
    keys: '\x03',
    code: 130,
    message: 'usrun: interrupted at the prompt: nothing was changed',
  },
  { name: 'Ctrl-D', keys: '\x04', code: 1, message: 'usrun: declined: nothing was changed' },
  { name: '"n"', keys: 'n\r', code: 1, message: 'usrun: declined: nothing was changed' },
] as const;

describe.each(DIALECTS)('prompts on %s', (dialect) => {
  let db: string;
  beforeAll(async () => {
    db = await testStore(dialect, { demo: 4 });
    // A run to undo: it changed every user.
    const r = await usrun(['run', script, '--db', db, '--all', '--yes']);
    expect(r.code).toBe(0);
  });

  const commands = [
    {
      name: 'run',
      args: () => ['run', script, '--db', db, '--all'],
      question: /About to change up to 4 users/,
    },
    { name: 'runs undo', args: () => ['runs', 'undo', '1', '--db', db], question: /About to undo run 1/ },
  ];

  for (const command of commands) {
    for (const key of KEYS) {
      it.skipIf(!HAS_SCRIPT_PTY)(
        `${command.name}: ${key.name} at the prompt exits ${key.code}, no trace`,
        async () => {
          const before = await dumpDb(db);
          const session = startCliInPty(command.args(), { env: { NO_COLOR: '1' } });
          await session.waitFor('[y/N]');
          session.type(key.keys);
          const r = await session.done;
          expect(r.stdout).toMatch(command.question);
          expect(r.stdout).toContain(key.message);
          expect(r.stdout).not.toMatch(/please report|\n\s+at /);
          expect(r.code).toBe(key.code);
          expect(await dumpDb(db)).toEqual(before);
        },
      );
    }
  }
});
