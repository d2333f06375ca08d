import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, runCli, tempDir } from '../helpers/cli.js';
import { sqlite } from '../helpers/dump.js';
import {
  assertFreeradiusInstalled,
  FREERADIUS_SCHEMA,
  radtest,
  type RadiusAnswer,
  type RadiusServer,
  startFreeradius,
} from '../helpers/freeradius.js';

/**
 * Issue 14: a real FreeRADIUS 3 (Debian's, with rlm_sql_sqlite) reads a usrun database live
 * through the views of migration 0004, configured by `usrun radius config`; `radtest` sees what
 * usrun scripts and `runs undo` change, at once, without restarting the server.
 */

const tmp = tempDir('usrun-freeradius-');
const db = join(tmp.dir, 'users.db');
let server: RadiusServer | undefined;

async function cli(...args: string[]) {
  const result = await runCli([...args, '--db', db]);
  if (result.code !== 0) throw new Error(`usrun ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}

async function runScript(name: string, source: string, filter: string): Promise<number> {
  const path = join(tmp.dir, name);
  writeFileSync(path, source);
  const result = await cli('run', path, '--filter', filter, '--json');
  const summary = ndjson(result.stdout).at(-1)?.['summary'] as { run_id: number; changed: number };
  expect(summary.changed).toBe(1);
  return summary.run_id;
}

function answerOf(user: string, password: string): Promise<RadiusAnswer> {
  if (!server) throw new Error('FreeRADIUS is not running');
  return radtest(server, user, password);
}

const attribute = (answer: RadiusAnswer, name: string) =>
  answer.attributes.filter(([n]) => n === name).map(([, v]) => v);

beforeAll(async () => {
  assertFreeradiusInstalled();
  await cli('init');
  writeFileSync(
    join(tmp.dir, 'users.csv'),
    'username,email,is_active\nalice,alice@example.test,true\nbob,bob@example.test,true\n',
  );
  await cli('users', 'import', join(tmp.dir, 'users.csv'));
  await cli('profiles', 'add', 'gold');
  await cli('profiles', 'attr', 'add', 'gold', 'Reply-Message', ':=', 'gold plan');
  await cli('profiles', 'attr', 'add', 'gold', 'Idle-Timeout', '=', '600');
  await runScript(
    'setup.js',
    `user.check_attribute_add('Cleartext-Password', 's3cret-' + user.username, ':=');
     user.attribute_add('Session-Timeout', 3600, ':=');
     user.profile_add('gold');`,
    'username eq "alice"',
  );
  await runScript(
    'setup-bob.js',
    `user.check_attribute_add('Cleartext-Password', 'bob-pw', ':=');
     user.expiration = '2020-01-01T00:00:00Z';`,
    'username eq "bob"',
  );
  const config = await cli('radius', 'config');
  server = await startFreeradius(tmp.dir, config.stdout);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('FreeRADIUS on a usrun database', () => {
  it("accepts a user's password with its own and its profile's reply attributes", async () => {
    const answer = await answerOf('alice', 's3cret-alice');
    expect(answer.code, server?.log().slice(-2000)).toBe('Access-Accept');
    expect(attribute(answer, 'Session-Timeout')).toEqual(['3600']);
    expect(attribute(answer, 'Reply-Message')).toEqual(['gold plan']);
    expect(attribute(answer, 'Idle-Timeout')).toEqual(['600']);
    expect((await answerOf('alice', 'wrong')).code).toBe('Access-Reject');
    expect((await answerOf('nobody', 'x')).code).toBe('Access-Reject');
  });

  it('rejects an expired user despite the right password', async () => {
    expect((await answerOf('bob', 'bob-pw')).code).toBe('Access-Reject');
  });

  it('answers what a script changed, deactivation rejects, and runs undo restores', async () => {
    await runScript(
      'timeout.js',
      `user.attribute_add('Session-Timeout', 7200, ':=');`,
      'username eq "alice"',
    );
    const changed = await answerOf('alice', 's3cret-alice');
    expect(changed.code).toBe('Access-Accept');
    expect(attribute(changed, 'Session-Timeout')).toEqual(['7200']);

    const runId = await runScript('deactivate.js', `user.is_active = false;`, 'username eq "alice"');
    const rejected = await answerOf('alice', 's3cret-alice');
    expect(rejected.code).toBe('Access-Reject');
    expect(attribute(rejected, 'Session-Timeout')).toEqual([]);

    await cli('runs', 'undo', String(runId), '--yes');
    const restored = await answerOf('alice', 's3cret-alice');
    expect(restored.code).toBe('Access-Accept');
    expect(attribute(restored, 'Session-Timeout')).toEqual(['7200']);
  });

  it('follows profile attribute changes and records every answer in radpostauth', async () => {
    await cli('profiles', 'attr', 'add', 'gold', 'Reply-Message', ':=', 'gold plan v2');
    const answer = await answerOf('alice', 's3cret-alice');
    expect(attribute(answer, 'Reply-Message')).toEqual(['gold plan v2']);
    const rows = sqlite<{ reply: string }>(
      db,
      `SELECT reply FROM radpostauth WHERE username = 'alice' ORDER BY id`,
    );
    expect(rows.map((r) => r.reply)).toContain('Access-Reject');
    expect(rows.at(-1)?.reply).toBe('Access-Accept');
  });

  it('serves users a radius import adds, and rejects them again once runs undo took it back', async () => {
    const source = join(tmp.dir, 'freeradius.db');
    const raw = new Database(source);
    raw.exec(readFileSync(FREERADIUS_SCHEMA, 'utf8'));
    raw.exec(`INSERT INTO radcheck (username, attribute, op, value) VALUES ('imported', 'Cleartext-Password', ':=', 'imp-pw');
      INSERT INTO radusergroup (username, groupname, priority) VALUES ('imported', 'gold', 1);`);
    raw.close();
    const result = await cli('radius', 'import', '--from', source, '--json');
    const runId = (ndjson(result.stdout).at(-1)?.['summary'] as { run_id: number }).run_id;
    const accepted = await answerOf('imported', 'imp-pw');
    expect(accepted.code).toBe('Access-Accept');
    expect(attribute(accepted, 'Reply-Message')).toEqual(['gold plan v2']);
    await cli('runs', 'undo', String(runId), '--yes');
    expect((await answerOf('imported', 'imp-pw')).code).toBe('Access-Reject');
    expect(sqlite(db, `SELECT count(*) AS n FROM users WHERE username = 'imported'`)).toEqual([{ n: 0 }]);
    // The profile was there before the import: undo leaves it.
    expect(sqlite(db, `SELECT count(*) AS n FROM profiles WHERE short_name = 'gold'`)).toEqual([{ n: 1 }]);
  });
});
