import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, ROOT, runCli, tempDir } from '../helpers/cli.js';
import { dumpDb, sqlite } from '../helpers/dump.js';

/**
 * Encrypted attrs (SPEC §4, §5): `encrypt: true` stores AES-256-GCM ciphertext under the key from
 * USRUN_KEY or --key-file; plaintext is never at rest (data, journal, output); a run that needs
 * the key and has none fails before any user runs.
 */

const tmp = tempDir('usrun-attrs-encryption-');
const db = join(tmp.dir, 'enc.db');
afterAll(() => tmp.cleanup());

const KEY = randomBytes(32);
const KEY_HEX = KEY.toString('hex');
const KEY_B64 = KEY.toString('base64');
const OTHER_KEY_HEX = randomBytes(32).toString('hex');

/**
 * The secret of user N is `Zq-<N * 7919>-pin`: built at run time, so the plaintext is in no
 * script text (scripts are journaled) and a search of the database file means something.
 */
const secretOf = (id: number) => `Zq-${id * 7919}-pin`;
const SECRET_EXPR = "'Zq-' + (user.obj_id * 7919) + '-pin'";
const ENCRYPT = `user.attr.set('secret', { pin: ${SECRET_EXPR} }, null, true);\n`;
const ENCRYPT_DICT = `user.attr.set_many([{ name: 'secret', value: { pin: ${SECRET_EXPR} }, encrypt: true }]);\n`;
/** Reads the secret back and proves (without printing it) that it decrypted right. */
const VERIFY = `const s = user.attr.get('secret');
if (s === null) skip('no secret');
if (s.pin !== ${SECRET_EXPR}) throw new Error('wrong plaintext');
user.description = 'verified ' + user.obj_id;
`;

type Row = Record<string, any>;

function script(name: string, text: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, text);
  return path;
}

const usrun = (args: string[], env: Record<string, string> = {}, where = db) =>
  runCli([...args, '--db', where], { cwd: tmp.dir, env });

/** Every byte of the database files, as latin1 text, for a plaintext search. */
function rawDb(path: string): string {
  return [path, `${path}-wal`]
    .filter((p) => existsSync(p))
    .map((p) => readFileSync(p).toString('latin1'))
    .join('');
}

const SECRETS = [1, 2, 3].map(secretOf);
const noSecretIn = (text: string, what: string) => {
  for (const s of SECRETS) expect(text.includes(s), `${what} contains the plaintext ${s}`).toBe(false);
};

async function freshDb(name: string): Promise<string> {
  const path = join(tmp.dir, name);
  const init = await runCli(['init', '--db', path]);
  expect(init.code).toBe(0);
  sqlite(path, "INSERT INTO users (obj_id, username) VALUES (1, 'ann'), (2, 'bob'), (3, 'cyd'), (4, 'dee')");
  return path;
}

beforeAll(async () => {
  await freshDb('enc.db');
});

describe('encrypt: true with a key', () => {
  it('--dry-run shows <encrypted> and writes nothing', async () => {
    const before = dumpDb(db);
    const r = await usrun(['run', script('encrypt.js', ENCRYPT), '--filter', 'obj_id le 2', '--dry-run'], {
      USRUN_KEY: KEY_HEX,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toContain('  + attr secret = <encrypted>');
    noSecretIn(r.stdout, 'dry-run output');
    const json = await usrun(
      ['run', script('encrypt.js', ENCRYPT), '--filter', 'obj_id le 2', '--dry-run', '--json'],
      { USRUN_KEY: KEY_HEX },
    );
    noSecretIn(json.stdout, 'dry-run --json output');
    expect(dumpDb(db)).toEqual(before);
  });

  it('stores ciphertext: not in user_attrs, run_changes, --json output, runs show or users show', async () => {
    const r = await usrun(['run', script('encrypt.js', ENCRYPT), '--filter', 'obj_id le 2', '--json'], {
      USRUN_KEY: KEY_HEX,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    noSecretIn(r.stdout, '--json output');
    const items = ndjson(r.stdout).slice(0, -1);
    for (const item of items) {
      const change = (item['changes'] as Row[]).find((c) => c['kind'] === 'attr');
      expect(change?.['after']).toMatchObject({ value: '<encrypted>', is_encrypted: true });
    }

    const rows = sqlite<Row>(
      db,
      "SELECT user_id, value, is_encrypted FROM user_attrs WHERE name = 'secret' ORDER BY user_id",
    );
    expect(rows.map((a) => [a['user_id'], a['is_encrypted']])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    for (const a of rows) {
      // Ciphertext as stored: version, key id, base64 (a short plaintext word could appear in
      // random base64 by chance, so the check is the format and the whole secret).
      expect(a['value']).toMatch(/^v1:[0-9a-f]{8}:[A-Za-z0-9+/]+=*$/);
      noSecretIn(a['value'] as string, 'user_attrs.value');
      expect(() => JSON.parse(a['value'] as string)).toThrow();
    }
    // The journal holds the same ciphertext, never the plaintext.
    const journal = sqlite<Row>(
      db,
      "SELECT user_id, after FROM run_changes WHERE kind = 'attr' ORDER BY user_id",
    );
    expect(journal.map((c) => [c['user_id'], (JSON.parse(c['after'] as string) as Row)['value']])).toEqual(
      rows.map((a) => [a['user_id'], a['value']]),
    );
    noSecretIn(JSON.stringify(dumpDb(db)), 'the database tables');
    noSecretIn(rawDb(db), 'the database file');

    const show = await usrun(['runs', 'show', '1']);
    const showJson = await usrun(['runs', 'show', '1', '--json']);
    expect(show.stdout).toContain('+ attr secret = <encrypted>');
    noSecretIn(show.stdout + showJson.stdout, 'runs show');
    const user = await usrun(['users', 'show', '1', '--json']);
    expect((JSON.parse(user.stdout) as Row)['attrs']).toEqual([
      { name: 'secret', value: '<encrypted>', encrypted: true, expires_at: null },
    ]);
    noSecretIn(user.stdout, 'users show');
  });

  it('a later run decrypts it with the same key (given as base64 this time)', async () => {
    const r = await usrun(['run', script('verify.js', VERIFY), '--filter', 'obj_id le 3'], {
      USRUN_KEY: KEY_B64,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(sqlite(db, 'SELECT obj_id, description FROM users WHERE obj_id <= 3 ORDER BY obj_id')).toEqual([
      { obj_id: 1, description: 'verified 1' },
      { obj_id: 2, description: 'verified 2' },
      { obj_id: 3, description: null },
    ]);
  });

  it('--key-file works for encrypting and for reading', async () => {
    const keyFile = join(tmp.dir, 'attr.key');
    writeFileSync(keyFile, `${KEY_B64}\n`);
    const enc = await usrun([
      'run',
      script('encrypt.js', ENCRYPT),
      '--filter',
      'obj_id eq 3',
      '--key-file',
      keyFile,
    ]);
    expect(enc.stderr).toBe('');
    expect(enc.code).toBe(0);
    expect(sqlite(db, "SELECT is_encrypted FROM user_attrs WHERE user_id = 3 AND name = 'secret'")).toEqual([
      { is_encrypted: 1 },
    ]);
    sqlite(db, 'UPDATE users SET description = NULL');
    const read = await usrun([
      'run',
      script('verify.js', VERIFY),
      '--filter',
      'obj_id le 3',
      '--key-file',
      keyFile,
    ]);
    expect(read.stderr).toBe('');
    expect(read.code).toBe(0);
    expect(sqlite(db, "SELECT count(*) AS n FROM users WHERE description LIKE 'verified %'")).toEqual([
      { n: 3 },
    ]);
    noSecretIn(rawDb(db), 'the database file');
  });

  it('a wrong key fails each user holding a secret, with a clear message and no plaintext', async () => {
    sqlite(db, 'UPDATE users SET description = NULL');
    const before = dumpDb(db, { journal: false });
    const r = await usrun(['run', script('verify.js', VERIFY), '--filter', 'obj_id le 4', '--json'], {
      USRUN_KEY: OTHER_KEY_HEX,
    });
    expect(r.code).toBe(1);
    const items = ndjson(r.stdout).slice(0, -1);
    expect(items.map((i) => [i['user_id'], i['status']])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
      [4, 'skipped'],
    ]);
    for (const item of items.slice(0, 3)) {
      expect(item['error']['message']).toMatch(/decrypt/);
      expect(item['error']['message']).toContain('secret');
      expect(item['error']['message']).toMatch(/another key/);
    }
    noSecretIn(r.stdout + r.stderr, 'output');
    expect(dumpDb(db, { journal: false })).toEqual(before);
  });

  it('ciphertext copied to another user fails to decrypt for that user', async () => {
    const [ann] = sqlite<Row>(db, "SELECT value FROM user_attrs WHERE user_id = 1 AND name = 'secret'");
    sqlite(
      db,
      `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at)
       VALUES (4, 'secret', ?, 1, NULL, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`,
      [ann?.['value']],
    );
    // The same ciphertext under another name of the same user fails as well.
    sqlite(
      db,
      "INSERT INTO user_attrs SELECT user_id, 'secret-copy', value, 1, NULL, created_at, updated_at FROM user_attrs WHERE user_id = 1 AND name = 'secret'",
    );
    const read = script(
      'read-copy.js',
      'const s = user.attr.get(params.name);\nuser.description = typeof s;\n',
    );
    const r = await usrun(
      ['run', read, '--filter', 'obj_id eq 1 or obj_id eq 4', '--param', 'name=secret', '--json'],
      { USRUN_KEY: KEY_HEX },
    );
    const items = ndjson(r.stdout).slice(0, -1);
    expect(items.map((i) => [i['user_id'], i['status']])).toEqual([
      [1, 'failed'],
      [4, 'failed'],
    ]);
    expect(items[1]?.['error']['message']).toMatch(/cannot decrypt attribute "secret" of user 4/);
    expect(items[1]?.['error']['message']).toMatch(/copied from another user/);
    expect(items[0]?.['error']['message']).toMatch(/cannot decrypt attribute "secret-copy" of user 1/);
    noSecretIn(r.stdout + r.stderr, 'output');
    sqlite(db, "DELETE FROM user_attrs WHERE (user_id = 4 AND name = 'secret') OR name = 'secret-copy'");
    const ok = await usrun(['run', read, '--filter', 'obj_id eq 1', '--param', 'name=secret'], {
      USRUN_KEY: KEY_HEX,
    });
    expect(ok.code).toBe(0);
  });
});

describe('no key', () => {
  const plainDb = join(tmp.dir, 'plain.db');
  beforeAll(async () => {
    await freshDb('plain.db');
  });

  it.each([
    ['set_many with encrypt: true in an entry', ENCRYPT_DICT],
    ['set(name, value, expiration, encrypt) with encrypt true', ENCRYPT],
    [
      "set_many(data, expiration, encrypt) with the call's encrypt true",
      `user.attr.set_many([{ name: 'secret', value: 1 }], null, true);\n`,
    ],
  ])('a run that encrypts (%s) fails before any user runs: exit 2, nothing written', async (_what, text) => {
    const before = dumpDb(plainDb);
    const r = await usrun(['run', script('needs-key.js', text), '--all'], {}, plainDb);
    // The output first: when this fails, the message shows what the run said.
    expect(r.stderr + r.stdout).toMatch(/USRUN_KEY/);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--key-file/);
    expect(dumpDb(plainDb)).toEqual(before);
  });

  it('a script that does not encrypt runs without a key, even if it says encrypt: false', async () => {
    const text = `// plain attrs only: encrypt is off
user.attr.set_many([{ name: 'plain', value: 'visible', encrypt: false }]);
`;
    const r = await usrun(['run', script('no-encrypt.js', text), '--filter', 'obj_id eq 1'], {}, plainDb);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(sqlite(plainDb, "SELECT value, is_encrypted FROM user_attrs WHERE name = 'plain'")).toEqual([
      { value: '"visible"', is_encrypted: 0 },
    ]);
  });

  it('a run that reads attrs while some are encrypted fails before any user runs: exit 2, nothing written', async () => {
    const before = dumpDb(db);
    for (const text of [VERIFY, "const all = obj.attr.get_many(['secret']);\nuser.description = 'x';\n"]) {
      const r = await usrun(['run', script('read-no-key.js', text), '--all']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/encrypted/);
      expect(r.stderr).toMatch(/USRUN_KEY|--key-file/);
      expect(dumpDb(db)).toEqual(before);
    }
  });

  it('a run that does not read attrs still works without a key, and leaves the ciphertext alone', async () => {
    const before = sqlite(db, 'SELECT * FROM user_attrs ORDER BY user_id, name');
    const r = await usrun(['run', script('touch.js', "user.klass = 'no-key';\n"), '--filter', 'obj_id le 2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(sqlite(db, 'SELECT * FROM user_attrs ORDER BY user_id, name')).toEqual(before);
  });
});

describe('filters on encrypted attrs', () => {
  it('refuse to compare an encrypted value (exit 2, says why), but presence works', async () => {
    const compare = 'attrs[name eq "secret" and value eq "x"]';
    const list = await usrun(['users', 'list', '--filter', compare]);
    expect(list.code).toBe(2);
    expect(list.stderr).toMatch(/encrypted values cannot be compared/);
    const before = dumpDb(db);
    const run = await usrun(['run', script('touch.js', "user.klass = 'f';\n"), '--filter', compare], {
      USRUN_KEY: KEY_HEX,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/encrypted values cannot be compared/);
    expect(dumpDb(db)).toEqual(before);
    const presence = await usrun(['users', 'list', '--filter', 'attrs[name eq "secret"]', '--json']);
    expect(presence.code).toBe(0);
    expect(ndjson(presence.stdout).map((u) => u['obj_id'])).toEqual([1, 2, 3]);
  });
});

describe('the seed examples scripts-examples/attr-set.js and attr-set-many.js', () => {
  const exDb = join(tmp.dir, 'examples.db');
  const example = (name: string) => join(ROOT, 'scripts-examples', name);

  beforeAll(async () => {
    await freshDb('examples.db');
    sqlite(exDb, "UPDATE users SET klass = 'residential' WHERE obj_id <= 2");
  });

  it('attr-set.js sets my-attribute (no key needed)', async () => {
    const r = await usrun(['run', example('attr-set.js'), '--filter', 'klass eq "residential"'], {}, exDb);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(
      sqlite(exDb, 'SELECT user_id, name, value, is_encrypted, expires_at FROM user_attrs ORDER BY user_id'),
    ).toEqual([
      { user_id: 1, name: 'my-attribute', value: '"my-value"', is_encrypted: 0, expires_at: null },
      { user_id: 2, name: 'my-attribute', value: '"my-value"', is_encrypted: 0, expires_at: null },
    ]);
  });

  it('attr-set-many.js needs a key, then sets my-attr1 plain, my-attr2 encrypted, my-attr3 expiring in an hour', async () => {
    const before = dumpDb(exDb);
    const refused = await usrun(
      ['run', example('attr-set-many.js'), '--filter', 'klass eq "residential"'],
      {},
      exDb,
    );
    expect(refused.code).toBe(2);
    expect(dumpDb(exDb)).toEqual(before);

    const r = await usrun(
      ['run', example('attr-set-many.js'), '--filter', 'klass eq "residential"'],
      { USRUN_KEY: KEY_HEX },
      exDb,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = sqlite<Row>(
      exDb,
      "SELECT * FROM user_attrs WHERE user_id = 1 AND name LIKE 'my-attr_' ORDER BY name",
    );
    expect(rows.map((a) => [a['name'], a['is_encrypted']])).toEqual([
      ['my-attr1', 0],
      ['my-attr2', 1],
      ['my-attr3', 0],
    ]);
    expect(rows[0]?.['value']).toBe('"my-value1"');
    expect(rows[0]?.['expires_at']).toBeNull();
    expect(rows[1]?.['value']).not.toContain('my-value2');
    expect(rows[1]?.['expires_at']).toBeNull();
    expect(rows[2]?.['value']).toBe('"my-value3"');
    const inSeconds = (Date.parse(rows[2]?.['expires_at'] as string) - Date.now()) / 1000;
    expect(inSeconds).toBeGreaterThan(3500);
    expect(inSeconds).toBeLessThanOrEqual(3600);
    // (The script text, with its 'my-value2', is journaled; the stored values are not plaintext.)
    const stored = JSON.stringify([
      sqlite(exDb, 'SELECT * FROM user_attrs'),
      sqlite(exDb, 'SELECT before, after FROM run_changes'),
    ]);
    expect(stored.includes('my-value2')).toBe(false);
    expect(stored.includes('my-value1')).toBe(true);

    const check = script(
      'check-example.js',
      "if (user.attr.get('my-attr2') !== 'my-value2') throw new Error('no');\nuser.description = 'ok';\n",
    );
    const read = await usrun(
      ['run', check, '--filter', 'klass eq "residential"'],
      { USRUN_KEY: KEY_HEX },
      exDb,
    );
    expect(read.code).toBe(0);
    expect(sqlite(exDb, "SELECT count(*) AS n FROM users WHERE description = 'ok'")).toEqual([{ n: 2 }]);
  });
});
