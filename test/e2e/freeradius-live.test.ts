import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, tempDir } from '../helpers/cli.js';
import { dbQuery } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testDbUrl } from '../helpers/dialects.js';
import {
  assertFreeradiusInstalled,
  FREERADIUS_SCHEMA,
  radiusLogin,
  type RadiusLogin,
  radtest,
  type RadiusAnswer,
  type RadiusServer,
  startFreeradius,
} from '../helpers/freeradius.js';
import { usrun } from '../helpers/in-process.js';

/**
 * Issue 14: a real FreeRADIUS 3 (Debian's, with rlm_sql_sqlite, rlm_sql_postgresql and
 * rlm_sql_mysql) reads a usrun database live through the views of migration 0004, configured by
 * exactly what `usrun radius config` prints — on a server database as a login of its own with a
 * password in the file the module includes. `radtest` sees what usrun scripts, `profiles attr`,
 * `radius import` and `runs undo` change, at once, without restarting the server.
 */

const tmp = tempDir('usrun-freeradius-');
/** FreeRADIUS's logins, dropped once their grants went with the test databases. */
const logins: RadiusLogin[] = [];

afterAll(async () => {
  await dropTestDbs();
  for (const login of logins.splice(0)) await login.drop();
  tmp.cleanup();
});

const attribute = (answer: RadiusAnswer, name: string) =>
  answer.attributes.filter(([n]) => n === name).map(([, v]) => v);

describe.each(DIALECTS)('FreeRADIUS on a usrun database (%s)', (dialect) => {
  const dir = join(tmp.dir, dialect);
  let db: string;
  let server: RadiusServer | undefined;
  let n = 0;

  async function cli(...args: string[]) {
    const result = await usrun([...args, '--db', db]);
    if (result.code !== 0) {
      throw new Error(`usrun ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
    }
    return result;
  }

  /** `usrun run` of `source` over the users of `filter`, expecting one changed user: the run id. */
  async function runScript(source: string, filter: string): Promise<number> {
    const path = join(dir, `script-${++n}.js`);
    writeFileSync(path, source);
    const result = await cli('run', path, '--filter', filter, '--json');
    const summary = ndjson(result.stdout).at(-1)?.['summary'] as { run_id: number; changed: number };
    expect(summary.changed).toBe(1);
    return summary.run_id;
  }

  const count = async (query: string) => Number((await dbQuery<{ n: unknown }>(db, query))[0]?.n);

  function answerOf(user: string, password: string): Promise<RadiusAnswer> {
    if (!server) throw new Error('FreeRADIUS is not running');
    return radtest(server, user, password);
  }

  beforeAll(async () => {
    assertFreeradiusInstalled();
    mkdirSync(dir, { recursive: true });
    db = await testDbUrl(dialect);
    await cli('init');
    writeFileSync(
      join(dir, 'users.csv'),
      'username,email,is_active\nalice,a@example.test,true\nbob,b@example.test,true\n' +
        'carol,c@example.test,true\ndave,d@example.test,false\n',
    );
    await cli('users', 'import', join(dir, 'users.csv'));
    await cli('profiles', 'add', 'gold');
    await cli('profiles', 'attr', 'add', 'gold', 'Reply-Message', ':=', 'gold plan');
    await cli('profiles', 'attr', 'add', 'gold', 'Idle-Timeout', '=', '600');
    // A group check row: FreeRADIUS applies vip's replies only where it matches the request.
    // FreeRADIUS stops after the first group that matched (by priority) unless its replies say
    // Fall-Through = Yes: vip comes first for alice (priority 1), then gold.
    await cli('profiles', 'add', 'vip');
    await cli('profiles', 'attr', 'add', 'vip', 'User-Name', '==', 'alice', '--check');
    await cli('profiles', 'attr', 'add', 'vip', 'Filter-Id', ':=', 'vip-filter');
    await cli('profiles', 'attr', 'add', 'vip', 'Fall-Through', '=', 'Yes');
    await runScript(
      `user.check_attribute_add('Cleartext-Password', 's3cret-' + user.username, ':=');
       user.attribute_add('Session-Timeout', 3600, ':=');
       user.profile_add('vip');
       user.profile_add('gold');`,
      'username eq "alice"',
    );
    await runScript(
      `user.check_attribute_add('Cleartext-Password', 'carol-pw', ':=');
       user.profile_add('vip');`,
      'username eq "carol"',
    );
    await runScript(
      `user.check_attribute_add('Cleartext-Password', 'bob-pw', ':=');
       user.expiration = '2020-01-01T00:00:00Z';`,
      'username eq "bob"',
    );
    await runScript(`user.check_attribute_add('Cleartext-Password', 'dave-pw', ':=');`, 'username eq "dave"');
    const login = await radiusLogin(db);
    logins.push(login);
    const config = await cli('radius', 'config', ...(login.login ? ['--login', login.login] : []));
    expect(config.stdout).not.toMatch(/^\s*password\s*=/m);
    server = await startFreeradius(dir, config.stdout, login.files);
    // The module read the password from the file it includes (FreeRADIUS -X masks secrets).
    if (login.login) expect(server.log()).toMatch(/^\s*password = <<< secret >>>$/m);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("accepts a user's password with its own and its profiles' reply attributes", async () => {
    const answer = await answerOf('alice', 's3cret-alice');
    expect(answer.code, server?.log().slice(-3000)).toBe('Access-Accept');
    expect(attribute(answer, 'Session-Timeout')).toEqual(['3600']);
    expect(attribute(answer, 'Reply-Message')).toEqual(['gold plan']);
    expect(attribute(answer, 'Idle-Timeout')).toEqual(['600']);
    expect(attribute(answer, 'Filter-Id'), server?.log().slice(-6000)).toEqual(['vip-filter']);
    // vip's check row does not match carol: its replies do not apply to her.
    const carol = await answerOf('carol', 'carol-pw');
    expect(carol.code).toBe('Access-Accept');
    expect(attribute(carol, 'Filter-Id')).toEqual([]);
    expect((await answerOf('alice', 'wrong')).code).toBe('Access-Reject');
    expect((await answerOf('nobody', 'x')).code).toBe('Access-Reject');
  });

  it('rejects an inactive user and an expired one despite the right password', async () => {
    expect((await answerOf('dave', 'dave-pw')).code).toBe('Access-Reject');
    expect((await answerOf('bob', 'bob-pw')).code).toBe('Access-Reject');
  });

  it('answers what a run changed, and what runs undo restored', async () => {
    const timeout = await runScript(
      `user.attribute_add('Session-Timeout', 7200, ':=');`,
      'username eq "alice"',
    );
    const changed = await answerOf('alice', 's3cret-alice');
    expect(changed.code).toBe('Access-Accept');
    expect(attribute(changed, 'Session-Timeout')).toEqual(['7200']);
    await cli('runs', 'undo', String(timeout), '--yes');
    expect(attribute(await answerOf('alice', 's3cret-alice'), 'Session-Timeout')).toEqual(['3600']);

    const deactivate = await runScript(`user.is_active = false;`, 'username eq "alice"');
    const rejected = await answerOf('alice', 's3cret-alice');
    expect(rejected.code).toBe('Access-Reject');
    expect(rejected.attributes).toEqual([]);
    await cli('runs', 'undo', String(deactivate), '--yes');
    const restored = await answerOf('alice', 's3cret-alice');
    expect(restored.code).toBe('Access-Accept');
    expect(attribute(restored, 'Session-Timeout')).toEqual(['3600']);
  });

  it('follows profile attribute changes and records every answer in radpostauth', async () => {
    await cli('profiles', 'attr', 'add', 'gold', 'Reply-Message', ':=', 'gold plan v2');
    const answer = await answerOf('alice', 's3cret-alice');
    expect(attribute(answer, 'Reply-Message')).toEqual(['gold plan v2']);
    const rows = await dbQuery<{ reply: string }>(
      db,
      `SELECT reply FROM radpostauth WHERE username = 'alice' ORDER BY id`,
    );
    expect(rows.map((r) => r.reply)).toContain('Access-Reject');
    expect(rows.at(-1)?.reply).toBe('Access-Accept');
  });

  it('serves users a radius import adds, and rejects them again once runs undo took it back', async () => {
    const source = join(dir, 'freeradius.db');
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
    expect(await count(`SELECT count(*) AS n FROM users WHERE username = 'imported'`)).toBe(0);
    // The profile was there before the import: undo leaves it.
    expect(await count(`SELECT count(*) AS n FROM profiles WHERE short_name = 'gold'`)).toBe(1);
  });
});
