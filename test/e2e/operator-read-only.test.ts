import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { usrun } from '../helpers/in-process.js';
import { runCliUnprivileged, succeedsUnprivileged, UNPRIVILEGED } from '../helpers/unprivileged.js';
import { writeFile } from '../helpers/run-fixtures.js';

/**
 * A SQLite database the admin cannot write (a file of another owner, a folder they cannot
 * write): commands that only read work and leave no `-wal`/`-shm` files behind; commands that
 * write say so in one line, exit 2, and write nothing. The CLI runs as a user that cannot write
 * (`nobody`, see test/helpers/unprivileged.ts). SQLite only: file permissions are a file
 * database's matter (a server's read-only role is the server's).
 */

const tmp = tempDir('usrun-read-only-');
chmodSync(tmp.dir, 0o755);
afterAll(() => tmp.cleanup());

let master: string;
const script = writeFile(tmp.dir, 'rename.js', 'user.first_name = "Renamed";');
chmodSync(script, 0o644);

beforeAll(async () => {
  master = join(tmp.dir, 'master.db');
  const ok = async (args: string[]) => expect((await usrun([...args, '--db', master])).code).toBe(0);
  await ok(['init', '--demo', '5']);
  await ok(['filters', 'save', 'active', 'is_active eq true']);
  await ok(['run', script, '--filter', 'obj_id le 2', '--yes']);
});

let n = 0;
/** A copy of the database, owned by root (the test), in a folder of the given mode. */
function copyIn(folderMode: number, fileMode: number): { dir: string; db: string } {
  const dir = join(tmp.dir, `case-${++n}`);
  mkdirSync(dir);
  const db = join(dir, 'users.db');
  copyFileSync(master, db);
  chmodSync(db, fileMode);
  chmodSync(dir, folderMode);
  return { dir, db };
}

const READERS = [
  { args: ['users', 'list'], out: /5 users|USERNAME/ },
  { args: ['users', 'show', '1'], out: /obj_id 1/ },
  { args: ['runs', 'list'], out: /completed/ },
  { args: ['runs', 'show', '1'], out: /Renamed/ },
  { args: ['filters', 'list'], out: /@active/ },
  { args: ['profiles', 'list'], out: /aaa-01|SHORT/ },
];

describe.skipIf(!UNPRIVILEGED)('a database the admin cannot write (SQLite)', () => {
  it(`the CLI really runs as a user that cannot write it (${UNPRIVILEGED?.as})`, async () => {
    const { dir, db } = copyIn(0o555, 0o444);
    // The control: it can read the file, and can write neither the file nor its folder.
    expect(succeedsUnprivileged('head', ['-c', '16', db])).toBe(true);
    expect(succeedsUnprivileged('sh', ['-c', `echo x >> '${db}'`])).toBe(false);
    expect(succeedsUnprivileged('touch', [join(dir, 'other')])).toBe(false);
  });

  it('read-only commands work in a folder it cannot write, and leave no -wal/-shm files', async () => {
    const { dir, db } = copyIn(0o555, 0o444);
    const before = readFileSync(db);
    for (const { args, out } of READERS) {
      const r = await runCliUnprivileged([...args, '--db', db]);
      expect(r.stderr, args.join(' ')).not.toMatch(/please report|unexpected|cannot/);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout + r.stderr).toMatch(out);
    }
    expect(readdirSync(dir)).toEqual(['users.db']);
    expect(readFileSync(db).equals(before)).toBe(true);
  });

  it('read-only commands see what a writer holding the database open has committed to its WAL', async () => {
    const { dir, db } = copyIn(0o555, 0o444);
    const writer = new Database(db);
    try {
      writer.pragma('wal_autocheckpoint = 0');
      writer.prepare("UPDATE users SET first_name = 'InTheWal' WHERE obj_id = 3").run();
      const shm = readFileSync(`${db}-shm`).length;
      const r = await runCliUnprivileged(['users', 'show', '3', '--db', db]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('InTheWal');
      expect(readdirSync(dir).sort()).toEqual(['users.db', 'users.db-shm', 'users.db-wal']);
      expect(readFileSync(`${db}-shm`).length).toBe(shm);
    } finally {
      writer.close();
    }
  });

  const WRITERS = [
    { name: 'run', args: ['run', script, '--all', '--yes'] },
    { name: 'filters save', args: ['filters', 'save', 'x', 'is_active eq false'] },
    { name: 'attrs purge', args: ['attrs', 'purge'] },
    { name: 'runs undo', args: ['runs', 'undo', '1', '--yes'] },
  ];

  for (const { name, args } of WRITERS) {
    it(`${name} on a read-only file: one clear line, exit 2, nothing written`, async () => {
      const { dir, db } = copyIn(0o777, 0o444);
      const before = readFileSync(db);
      const r = await runCliUnprivileged([...args, '--db', db]);
      expect(r.stderr).toContain(`usrun: cannot write to ${db}: the file is read-only for this user`);
      expect(r.stderr).toContain('Commands that only read');
      expect(r.stderr).not.toMatch(/please report|\n\s+at /);
      expect(r.code).toBe(2);
      expect(readFileSync(db).equals(before)).toBe(true);
      expect(readdirSync(dir)).toEqual(['users.db']);
    });
  }

  it('a writable file in a folder it cannot write is refused up front too (SQLite needs -wal there)', async () => {
    const { dir, db } = copyIn(0o555, 0o666);
    const before = readFileSync(db);
    const r = await runCliUnprivileged(['filters', 'save', 'x', 'is_active eq false', '--db', db]);
    expect(r.stderr).toContain(
      `usrun: cannot write to ${db}: its folder ${dir} is not writable for this user`,
    );
    expect(r.code).toBe(2);
    expect(readFileSync(db).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['users.db']);
  });
});
