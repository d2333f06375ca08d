import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.js';
import { dbQuery, dumpDb, restoreDb, snapshotDb, type Snapshot } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';
import { addRadius, runJson } from '../helpers/run-fixtures.js';

/**
 * Issue 13: every example of scripts-examples/ exists as `.py` beside its `.js` twin, and both
 * do the same: each pair runs over the same users (the selection the `.js` header suggests, from
 * the same database state), and the data and the journal afterwards are compared.
 */

const EXAMPLES_DIR = join(ROOT, 'scripts-examples');
const FILES = readdirSync(EXAMPLES_DIR);
const TWINS = FILES.filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3))
  .sort();
const KEY = 'a1'.repeat(32);

const tmp = tempDir('usrun-python-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

function script(name: string, text: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, text);
  return path;
}

/** The `usrun run` arguments after the script that a header suggests, without --dry-run. */
function headerSelection(file: string): string[] {
  const lines: string[] = [];
  for (const line of readFileSync(join(EXAMPLES_DIR, file), 'utf8').split('\n')) {
    if (!/^(\/\/|#)/.test(line)) break;
    lines.push(line.replace(/^(\/\/|#)\s?/, ''));
  }
  const run = lines
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .find((l) => l.startsWith('Run: usrun run '));
  if (!run) throw new Error(`${file}: no "Run: usrun run …" line in its header comment`);
  const words = [...run.replace(/^Run:\s*/, '').matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? '',
  );
  expect(words.slice(0, 3)).toEqual(['usrun', 'run', `scripts-examples/${file}`]);
  return words.slice(3).filter((w) => w !== '--dry-run');
}

/** Rows some examples need to have something to do (as in run-examples.test.ts). */
const SETUP: Record<string, (db: string) => Promise<unknown>> = {
  'attribute-remove': async (db) => {
    for (const id of [1, 2, 3, 4]) await addRadius(db, 'reply_attributes', id, 'Username', '+=', 'zequenze');
    await addRadius(db, 'reply_attributes', 5, 'Username', ':=', 'someone-else');
  },
  'check-attribute-remove': async (db) => {
    for (const id of [1, 2, 3]) await addRadius(db, 'check_attributes', id, 'Max-Daily-Session', '==', '4');
  },
  'profile-add': (db) =>
    dbQuery(db, "INSERT INTO profiles (id, short_name, name) VALUES (12, 'promo-12', 'Promo twelve')"),
  'profile-remove': async (db) => {
    await dbQuery(db, "INSERT INTO profiles (id, short_name, name) VALUES (12, 'promo-12', 'Promo twelve')");
    await dbQuery(
      db,
      'INSERT INTO user_profiles (user_id, profile_id, priority) SELECT user_id, 12, 5 FROM user_profiles WHERE profile_id = 1 LIMIT 3',
    );
  },
};

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;
const CIPHERTEXT = /v1:[0-9a-f]{8}:[A-Za-z0-9+/=]+/g;

/**
 * A dump with what differs between any two runs taken out: times (the run's clock), ciphertexts
 * (a fresh nonce each time), the script's own name and text. Python prints True/False/None where
 * JavaScript prints true/false/null: logs are compared with those words mapped.
 */
function comparable(dump: Record<string, unknown[]>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [table, rows] of Object.entries(dump)) {
    out[table] = rows.map((row) => {
      const r: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
        if (
          /(_at|last_update)$/.test(k) ||
          ['script_path', 'script_text', 'script_sha256', 'pid'].includes(k)
        )
          continue;
        if (table === 'user_attrs' && k === 'value' && (row as { is_encrypted: unknown }).is_encrypted)
          continue;
        let value = typeof v === 'string' ? v.replace(ISO, '<time>').replace(CIPHERTEXT, '<ciphertext>') : v;
        // A Python call with no effect is journaled without its script line (README, Python).
        if (k === 'notes' && typeof value === 'string')
          value = JSON.stringify(
            (JSON.parse(value) as { message: string }[]).map((n) => ({ message: n.message })),
          );
        if (k === 'logs' && typeof value === 'string')
          value = value.replace(
            /\b(True|False|None)\b/g,
            (w) => ({ True: 'true', False: 'false', None: 'null' })[w]!,
          );
        r[k] = value;
      }
      return r;
    });
  }
  return out;
}

describe('scripts-examples/ Python twins', () => {
  it('every .js example has a .py twin (and every .py a .js one)', () => {
    const py = FILES.filter((f) => f.endsWith('.py')).map((f) => f.slice(0, -3));
    expect(py.sort()).toEqual(TWINS);
    expect(TWINS.length).toBeGreaterThanOrEqual(12);
  });

  it('the twins suggest the same selection', () => {
    for (const name of TWINS) expect(headerSelection(`${name}.py`)).toEqual(headerSelection(`${name}.js`));
  });

  describe.each(DIALECTS)('%s', (dialect) => {
    let db = '';
    let snapshot: Snapshot;
    beforeAll(async () => {
      db = await testStore(dialect, { demo: 200 });
      snapshot = await snapshotDb(db);
    });

    it.each(TWINS)('%s: the .py twin changes the same users the same way as the .js', async (name) => {
      const results = [];
      for (const ext of ['js', 'py']) {
        await restoreDb(db, snapshot);
        await SETUP[name]?.(db);
        const args = ['run', `scripts-examples/${name}.${ext}`, ...headerSelection(`${name}.js`), '--db', db];
        const run = await runJson(args, { env: { USRUN_KEY: KEY } });
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        expect(run.summary).toMatchObject({ failed: 0, status: 'completed' });
        expect(run.summary['changed']).toBeGreaterThan(0);
        const { seconds: _s, users_per_second: _u, ...summary } = run.summary;
        // A Python call with no effect is reported without its script line (README, Python).
        const groups = (summary['groups'] as { kind: string; location?: string | null }[]).map((g) =>
          g.kind === 'no_effect' ? { ...g, location: undefined } : g,
        );
        results.push({ summary: { ...summary, groups }, dump: comparable(await dumpDb(db)) });
      }
      const [js, py] = results;
      expect(py?.summary).toEqual(js?.summary);
      expect(py?.dump).toEqual(js?.dump);
    });

    it('usrun run x.py: a syntax error or too little --memory is exit 2 before any user runs, nothing written', async () => {
      await restoreDb(db, snapshot);
      const before = await dumpDb(db);
      const bad = await usrun(['run', script('bad.py', 'x = 1\nif x\n    pass\n'), '--all', '--db', db]);
      expect(bad).toMatchObject({ code: 2, stdout: '' });
      expect(bad.stderr).toBe('usrun: bad.py:2: SyntaxError: invalid syntax\n');
      const small = await usrun(['run', script('ok.py', 'pass\n'), '--all', '--memory', '12', '--db', db]);
      expect(small.code).toBe(2);
      expect(small.stderr).toBe(
        'usrun: the memory limit must be a whole number of MB ≥ 16 for Python scripts (got 12)\n',
      );
      expect(await dumpDb(db)).toEqual(before);
    });

    it('usrun run x.py: a failing user is reported and journaled with its exception and file:line', async () => {
      await restoreDb(db, snapshot);
      const path = script(
        'fail.py',
        "if user.obj_id == 2:\n    raise ValueError('no ' + user.username)\nuser.description = 'seen ' + user.date_joined.isoformat()\n",
      );
      const run = await runJson(['run', path, '--filter', 'obj_id le 3', '--db', db]);
      expect(run.code).toBe(1);
      expect(run.summary).toMatchObject({ changed: 2, failed: 1 });
      const failed = run.items.find((i) => i['status'] === 'failed');
      const username = (
        await dbQuery<{ username: string }>(db, 'SELECT username FROM users WHERE obj_id = 2')
      )[0]?.username;
      expect(failed).toMatchObject({
        user_id: 2,
        error: { message: `ValueError: no ${username}`, location: 'fail.py:2' },
      });
      const rows = await dbQuery<{ description: string | null; date_joined: string }>(
        db,
        'SELECT description, date_joined FROM users WHERE obj_id IN (1, 3) ORDER BY obj_id',
      );
      // Python's isoformat() leaves out a fraction of 0 (a time that fell on a whole second).
      const isoformat = (iso: string) =>
        iso.endsWith('.000Z') ? iso.replace('.000Z', '+00:00') : iso.replace('Z', '000+00:00');
      for (const r of rows) expect(r.description).toBe(`seen ${isoformat(r.date_joined)}`);
      const items = await dbQuery<{ user_id: number; status: string; error: string | null }>(
        db,
        'SELECT user_id, status, error FROM run_items ORDER BY seq',
      );
      expect(items.map((i) => [i.user_id, i.status])).toEqual([
        [1, 'changed'],
        [2, 'failed'],
        [3, 'changed'],
      ]);
      expect(items[1]?.error).toContain(`ValueError: no ${username}`);
      expect(items[1]?.error).toContain('fail.py:2');
    });
  });
});
