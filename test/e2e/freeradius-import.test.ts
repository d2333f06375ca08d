import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.js';
import { dumpDb } from '../helpers/dump.js';
import {
  assertFreeradiusInstalled,
  FREERADIUS_SCHEMA,
  radtest,
  type RadiusAnswer,
  type RadiusServer,
  startFreeradius,
} from '../helpers/freeradius.js';

/**
 * Issue 14: `usrun radius import` adopts a database made with FreeRADIUS's own SQLite schema
 * (Debian's mods-config/sql/main/sqlite/schema.sql). A real FreeRADIUS answers every user the
 * same on the original tables and, after the import, on usrun's views.
 */

const tmp = tempDir('usrun-freeradius-import-');
const original = join(tmp.dir, 'freeradius.db');
const db = join(tmp.dir, 'usrun.db');
let server: RadiusServer | undefined;

/** [user, password] pairs radtest tries, each answered on both databases. */
const LOGINS: [string, string][] = [
  ['carol', 'carol-pw'],
  ['carol', 'wrong'],
  ['dave', 'dave-pw'], // Auth-Type := Reject in radcheck
  ['eve', 'anything'], // in a group, no password
  ['frank', 'frank pw with spaces'],
  ['nobody', 'x'],
];

async function cli(...args: string[]) {
  const result = await runCli([...args, '--db', db]);
  if (result.code !== 0) throw new Error(`usrun ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result;
}

/** Starts FreeRADIUS on `file` with the sql module usrun prints, asks every login, stops it. */
async function answersFrom(file: string): Promise<RadiusAnswer[]> {
  const config = (await cli('radius', 'config')).stdout.replace(`filename = "${db}"`, `filename = "${file}"`);
  expect(config).toContain(file);
  server = await startFreeradius(tmp.dir, config);
  try {
    const answers: RadiusAnswer[] = [];
    for (const [user, password] of LOGINS) answers.push(await radtest(server, user, password));
    return answers;
  } finally {
    await server.stop();
    server = undefined;
  }
}

beforeAll(() => {
  assertFreeradiusInstalled();
  const raw = new Database(original);
  raw.exec(readFileSync(FREERADIUS_SCHEMA, 'utf8'));
  const check = raw.prepare('INSERT INTO radcheck (username, attribute, op, value) VALUES (?, ?, ?, ?)');
  const reply = raw.prepare('INSERT INTO radreply (username, attribute, op, value) VALUES (?, ?, ?, ?)');
  const member = raw.prepare('INSERT INTO radusergroup (username, groupname, priority) VALUES (?, ?, ?)');
  const groupCheck = raw.prepare(
    'INSERT INTO radgroupcheck (groupname, attribute, op, value) VALUES (?, ?, ?, ?)',
  );
  const groupReply = raw.prepare(
    'INSERT INTO radgroupreply (groupname, attribute, op, value) VALUES (?, ?, ?, ?)',
  );
  check.run('carol', 'Cleartext-Password', ':=', 'carol-pw');
  check.run('dave', 'Cleartext-Password', ':=', 'dave-pw');
  check.run('dave', 'Auth-Type', ':=', 'Reject');
  check.run('frank', 'Cleartext-Password', ':=', 'frank pw with spaces');
  reply.run('carol', 'Session-Timeout', ':=', '1800');
  reply.run('carol', 'Reply-Message', '+=', 'hello carol');
  reply.run('carol', 'Reply-Message', '+=', 'second line');
  reply.run('frank', 'Framed-IP-Address', ':=', '10.0.0.7');
  member.run('carol', 'premium', 1);
  member.run('carol', 'vlan10', 2);
  member.run('eve', 'premium', 1);
  member.run('frank', 'vlan10', 1);
  // Group check rows are compared with the request: radtest sends NAS-Port 0, so only premium matches.
  groupCheck.run('premium', 'NAS-Port', '==', '0');
  groupCheck.run('vlan10', 'NAS-Port', '==', '5');
  groupReply.run('premium', 'Idle-Timeout', ':=', '900');
  groupReply.run('premium', 'Reply-Message', '+=', 'premium plan');
  groupReply.run('vlan10', 'Tunnel-Private-Group-Id', ':=', '10');
  raw.close();
});

afterAll(async () => {
  await server?.stop();
  tmp.cleanup();
});

describe('radius import from a FreeRADIUS database', () => {
  it('answers every login the same before (FreeRADIUS tables) and after (usrun views)', async () => {
    await cli('init');
    const before = await answersFrom(original);
    // The scenario means something: accepts and rejects, user and group attributes.
    expect(before.map((a) => a.code)).toEqual([
      'Access-Accept',
      'Access-Reject',
      'Access-Reject',
      'Access-Reject',
      'Access-Accept',
      'Access-Reject',
    ]);
    expect(before[0]?.attributes).toEqual([
      ['Session-Timeout', '1800'],
      ['Reply-Message', 'hello carol'],
      ['Reply-Message', 'second line'],
      ['Idle-Timeout', '900'],
      ['Reply-Message', 'premium plan'],
    ]);

    const dry = await cli('radius', 'import', '--from', original, '--dry-run');
    expect(dry.stdout).toContain('+ user carol');
    expect(dry.stdout).toContain('+ profile vlan10');
    expect(dry.stdout).toMatch(/^carol \(#\d+\)\n {2}\+ user carol\n/m);
    expect(dry.stdout).toContain('  + check Cleartext-Password := <hidden>\n');
    expect(dry.stdout).toMatch(/^profile premium\n {2}\+ profile premium\n/m);
    expect(dry.stdout).toMatch(/would import .*: 4 users, 2 profiles, 4 memberships, 8 user and 5 profile/);
    expect(dumpDb(db, { journal: false })['users']).toEqual([]);

    const imported = await cli('radius', 'import', '--from', original);
    expect(imported.stdout).toMatch(/imported .*: 4 users, 2 profiles/);
    const after = await answersFrom(db);
    expect(after).toEqual(before);
  }, 60_000);

  it('changes nothing when run a second time', async () => {
    const dump = dumpDb(db, { journal: false });
    const again = await cli('radius', 'import', '--from', original, '--json');
    const lines = again.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status?: string; summary?: Record<string, number> });
    // 2 profiles and 4 users, every one already there.
    expect(lines.slice(0, -1).map((l) => l.status)).toEqual(Array(6).fill('unchanged'));
    expect(lines.at(-1)?.summary).toMatchObject({ selected: 6, changed: 0, unchanged: 6 });
    // Only the journal grew: one more run, its unchanged items.
    expect(dumpDb(db, { journal: false })).toEqual(dump);
  });
});
