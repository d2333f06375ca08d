import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson, tempDir } from '../helpers/cli.js';
import { dbQuery, dumpDb } from '../helpers/db.js';
import { DIALECTS, dropTestDbs, testStore } from '../helpers/dialects.js';
import { usrun } from '../helpers/in-process.js';

/**
 * The journal (SPEC §5): a real run records itself in `runs`, one `run_items` row per user and
 * one `run_changes` row per change, and all of it agrees with what the data tables now hold.
 * `usrun runs list` / `runs show` read it back.
 */

const tmp = tempDir('usrun-journal-runs-');
afterAll(async () => {
  await dropTestDbs();
  tmp.cleanup();
});

const SCRIPT = `// journal test script
console.log('visiting ' + user.username + ' tag=' + params.tag);
if (user.obj_id % 7 === 0) throw new Error('no luck for ' + user.obj_id);
if (user.obj_id % 5 === 0) skip('multiple of five');
if (user.obj_id % 3 === 0) return;
user.description = 'journal ' + params.tag + ' ' + user.obj_id;
user.profile_add('gold');
user.attribute_add('Session-Timeout', 3600 + user.obj_id, ':=');
user.attr.set('seen', { tag: params.tag, id: user.obj_id });
`;
const scriptPath = join(tmp.dir, 'journal-script.js');
const FILTER = 'obj_id le 30';

type Status = 'changed' | 'unchanged' | 'skipped' | 'failed';
const expectedStatus = (id: number): Status =>
  id % 7 === 0 ? 'failed' : id % 5 === 0 ? 'skipped' : id % 3 === 0 ? 'unchanged' : 'changed';
const IDS = Array.from({ length: 30 }, (_, i) => i + 1);
const idsWith = (status: Status) => IDS.filter((id) => expectedStatus(id) === status);

interface Row {
  [column: string]: any;
}
interface RunRow {
  id: number;
  kind: string;
  script_path: string;
  script_text: string;
  script_sha256: string;
  selection: string;
  params: string;
  os_user: string;
  host: string;
  pid: number | null;
  started_at: string;
  finished_at: string | null;
  status: string;
  counts: string;
  undo_of: number | null;
}

describe.each(DIALECTS)('%s', (dialect) => {
  let db = '';
  let before: Record<string, Row[]>;
  let after: Record<string, Row[]>;
  let first: Awaited<ReturnType<typeof usrun>>;
  let startedBy = '';
  let endedBy = '';

  const usersBefore = (id: number) => before['users']?.find((u) => u['obj_id'] === id) as Row;
  const rowsOf = (dump: Record<string, Row[]>, table: string, id: number) =>
    (dump[table] ?? []).filter((r) => (table === 'users' ? r['obj_id'] : r['user_id']) === id);
  const goldId = () => (before['profiles']?.find((p) => p['short_name'] === 'gold') as Row)['id'] as number;

  beforeAll(async () => {
    db = await testStore(dialect, { demo: 40 });
    writeFileSync(scriptPath, SCRIPT);
    before = (await dumpDb(db, { journal: false })) as Record<string, Row[]>;
    startedBy = new Date().toISOString();
    first = await usrun(['run', scriptPath, '--filter', FILTER, '--param', 'tag=t1', '--db', db]);
    endedBy = new Date().toISOString();
    after = (await dumpDb(db, { journal: false })) as Record<string, Row[]>;
  });

  describe('a real run with some failures', () => {
    it('exits 1 and prints the summary with the run id', async () => {
      expect(first.code).toBe(1);
      expect(first.stdout).toMatch(
        /^run 1 completed: 30 selected, 13 changed, 7 unchanged, 6 skipped, 4 failed, 0 not found/m,
      );
      for (const id of idsWith('failed')) expect(first.stderr).toContain(`no luck for ${id}`);
    });

    it('journals the run: script text and sha256, selection, params, who, where, when, status, counts', async () => {
      const runs = await dbQuery<RunRow>(db, 'SELECT * FROM runs');
      expect(runs).toHaveLength(1);
      const run = runs[0] as RunRow;
      expect(run).toMatchObject({
        id: 1,
        kind: 'run',
        script_path: scriptPath,
        script_text: SCRIPT,
        script_sha256: createHash('sha256').update(SCRIPT).digest('hex'),
        os_user: userInfo().username,
        host: hostname(),
        status: 'completed',
        pid: null,
        undo_of: null,
      });
      const selection = JSON.parse(run.selection) as Record<string, unknown>;
      expect(selection['filter']).toBe(FILTER);
      expect(selection['all']).toBeUndefined();
      expect(selection['csv']).toBeUndefined();
      expect(JSON.parse(run.params)).toEqual({ tag: 't1' });
      expect(run.started_at >= startedBy).toBe(true);
      expect(run.finished_at).not.toBeNull();
      expect((run.finished_at as string) >= run.started_at).toBe(true);
      expect((run.finished_at as string) <= endedBy).toBe(true);
      expect(new Date(run.started_at).toISOString()).toBe(run.started_at);
      expect(JSON.parse(run.counts)).toEqual({
        selected: 30,
        changed: idsWith('changed').length,
        unchanged: idsWith('unchanged').length,
        skipped: idsWith('skipped').length,
        failed: idsWith('failed').length,
        not_found: 0,
      });
    });

    it('has one run_items row per user with its status, error and logs', async () => {
      const items = await dbQuery<Row>(db, 'SELECT * FROM run_items WHERE run_id = 1 ORDER BY seq');
      expect(items.map((i) => i['user_id'])).toEqual(IDS);
      expect(new Set(items.map((i) => i['seq'])).size).toBe(30);
      for (const item of items) {
        const id = item['user_id'] as number;
        const username = usersBefore(id)['username'] as string;
        expect(item['username']).toBe(username);
        expect(item['status'], `user ${id}`).toBe(expectedStatus(id));
        expect(item['row_json']).toBeNull();
        expect(JSON.parse(item['logs'] as string)).toEqual([`visiting ${username} tag=t1`]);
        expect(new Date(item['finished_at'] as string).toISOString()).toBe(item['finished_at']);
        const error =
          item['error'] === null
            ? null
            : (JSON.parse(item['error'] as string) as { message: string; location?: string });
        if (expectedStatus(id) === 'failed') {
          expect(error?.message).toContain(`no luck for ${id}`);
          expect(error?.location).toMatch(/journal-script\.js:3:\d+/);
        } else if (expectedStatus(id) === 'skipped') {
          expect(error?.message).toBe('multiple of five');
        } else {
          expect(error).toBeNull();
        }
      }
    });

    it('has run_changes with before/after for each change, and they agree with the data', async () => {
      const changes = await dbQuery<Row>(db, 'SELECT * FROM run_changes WHERE run_id = 1 ORDER BY seq, n');
      const items = await dbQuery<Row>(db, 'SELECT seq, user_id, status FROM run_items WHERE run_id = 1');
      const changedSeqs = new Set(items.filter((i) => i['status'] === 'changed').map((i) => i['seq']));
      // Changes only for changed items, numbered 0..k-1 per item.
      expect(new Set(changes.map((c) => c['seq']))).toEqual(changedSeqs);
      for (const id of idsWith('changed')) {
        const seq = items.find((i) => i['user_id'] === id)?.['seq'];
        const mine = changes.filter((c) => c['seq'] === seq);
        expect(mine.map((c) => c['n'])).toEqual(mine.map((_, n) => n));
        expect(new Set(mine.map((c) => c['user_id']))).toEqual(new Set([id]));
        const parsed = mine.map((c) => ({
          kind: c['kind'] as string,
          target: c['target'] as string,
          before: c['before'] === null ? null : JSON.parse(c['before'] as string),
          after: c['after'] === null ? null : JSON.parse(c['after'] as string),
        }));
        const userBefore = usersBefore(id);
        const userAfter = rowsOf(after, 'users', id)[0] as Row;

        // Fields: the script's description and the automatic last_update.
        const fields = parsed.filter((c) => c.kind === 'field');
        expect(fields.map((c) => c.target).sort()).toEqual(['description', 'last_update']);
        for (const f of fields) {
          expect(f.before, `user ${id} ${f.target} before`).toBe(userBefore[f.target]);
          expect(f.after, `user ${id} ${f.target} after`).toBe(userAfter[f.target]);
        }
        expect(userAfter['description']).toBe(`journal t1 ${id}`);

        // Profile gold: added unless the user already had it; the membership row matches `after`.
        const hadGold = rowsOf(before, 'user_profiles', id).some((m) => m['profile_id'] === goldId());
        const profileChanges = parsed.filter((c) => c.kind === 'profile');
        const membership = rowsOf(after, 'user_profiles', id).find((m) => m['profile_id'] === goldId());
        expect(membership).toBeDefined();
        if (hadGold) expect(profileChanges).toEqual([]);
        else
          expect(profileChanges).toEqual([
            {
              kind: 'profile',
              target: 'gold',
              before: null,
              after: { id: goldId(), priority: membership?.['priority'] },
            },
          ]);

        // Reply Session-Timeout :=: every old row removed (before = the stored row), one added.
        const replies = parsed.filter((c) => c.kind === 'reply');
        const oldRows = rowsOf(before, 'reply_attributes', id).filter((r) => r['attr'] === 'Session-Timeout');
        const removed = replies.filter((c) => c.after === null).map((c) => c.before);
        expect(removed).toEqual(
          expect.arrayContaining(
            oldRows.map((r) => ({ id: r['id'], attr: r['attr'], op: r['op'], value: r['value'] })),
          ),
        );
        expect(removed).toHaveLength(oldRows.length);
        const added = replies.filter((c) => c.before === null).map((c) => c.after as Row);
        expect(added).toHaveLength(1);
        expect(added[0]).toMatchObject({ attr: 'Session-Timeout', op: ':=', value: String(3600 + id) });
        const nowRows = rowsOf(after, 'reply_attributes', id).filter((r) => r['attr'] === 'Session-Timeout');
        expect(nowRows.map((r) => [r['op'], r['value']])).toEqual([[':=', String(3600 + id)]]);
        for (const r of oldRows) expect(nowRows.some((x) => x['id'] === r['id'])).toBe(false);

        // Attr seen: created, its after is the stored row.
        const attrs = parsed.filter((c) => c.kind === 'attr');
        expect(attrs).toHaveLength(1);
        const stored = rowsOf(after, 'user_attrs', id).find((a) => a['name'] === 'seen') as Row;
        expect(attrs[0]?.before).toBeNull();
        expect(attrs[0]?.after).toMatchObject({
          value: stored['value'],
          is_encrypted: false,
          expires_at: null,
        });
        expect(JSON.parse(stored['value'] as string)).toEqual({ tag: 't1', id });

        expect(parsed.length).toBe(fields.length + profileChanges.length + replies.length + attrs.length);
        // What the run did not touch is as it was.
        expect(rowsOf(after, 'check_attributes', id)).toEqual(rowsOf(before, 'check_attributes', id));
        expect(rowsOf(after, 'user_attrs', id).filter((a) => a['name'] !== 'seen')).toEqual(
          rowsOf(before, 'user_attrs', id),
        );
      }
    });

    it('leaves every user that was not changed exactly as it was', async () => {
      const untouched = [
        ...IDS.filter((id) => expectedStatus(id) !== 'changed'),
        ...Array.from({ length: 10 }, (_, i) => 31 + i),
      ];
      for (const id of untouched) {
        for (const table of [
          'users',
          'user_profiles',
          'reply_attributes',
          'check_attributes',
          'user_attrs',
        ]) {
          expect(rowsOf(after, table, id), `${table} of user ${id}`).toEqual(rowsOf(before, table, id));
        }
      }
    });
  });

  describe('dry runs', () => {
    it('write no journal at all (and no data)', async () => {
      const whole = await dumpDb(db);
      const dry = await usrun([
        'run',
        scriptPath,
        '--filter',
        FILTER,
        '--param',
        'tag=t2',
        '--db',
        db,
        '--dry-run',
      ]);
      expect(dry.stdout).toMatch(/^dry run \(nothing written\): 30 selected, 13 would change/m);
      expect(await dumpDb(db)).toEqual(whole);
      const dryJson = await usrun([
        'run',
        scriptPath,
        '--all',
        '--param',
        'tag=t3',
        '--db',
        db,
        '--dry-run',
        '--json',
      ]);
      expect(ndjson(dryJson.stdout).at(-1)?.['summary']).toMatchObject({ dry_run: true, run_id: null });
      expect(await dumpDb(db)).toEqual(whole);
    });
  });

  describe('usrun runs list / show', () => {
    const second = `user.klass = 'journal-second';\n`;
    const secondPath = join(tmp.dir, 'second.js');

    beforeAll(async () => {
      writeFileSync(secondPath, second);
      const r = await usrun(['run', secondPath, '--all', '--limit', '3', '--db', db]);
      expect(r.code).toBe(0);
    });

    it('lists runs newest first with status and counts', async () => {
      const r = await usrun(['runs', 'list', '--db', db]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(
        /^RUN\s+STARTED \(UTC\)\s+SCRIPT\s+STATUS\s+ITEMS\s+CHANGED\s+FAILED\s+NOT FOUND\s+BY$/,
      );
      const rows = lines.slice(1).map((l) => l.trim().split(/\s+/));
      expect(rows.map((w) => w[0])).toEqual(['2', '1']);
      const by = `${userInfo().username}@${hostname()}`;
      // RUN, date, time, SCRIPT, STATUS, ITEMS, CHANGED, FAILED, NOT FOUND, BY
      expect(rows[0]?.slice(3)).toEqual([secondPath, 'completed', '3', '3', '0', '0', by]);
      expect(rows[1]?.slice(3)).toEqual([scriptPath, 'completed', '30', '13', '4', '0', by]);
    });

    it('lists runs as NDJSON with --json', async () => {
      const r = await usrun(['runs', 'list', '--db', db, '--json']);
      expect(r.code).toBe(0);
      const runs = ndjson(r.stdout);
      expect(runs.map((x) => x['id'])).toEqual([2, 1]);
      expect(runs[1]).toMatchObject({
        kind: 'run',
        status: 'completed',
        script_path: scriptPath,
        params: { tag: 't1' },
        counts: { selected: 30, changed: 13, unchanged: 7, skipped: 6, failed: 4, not_found: 0 },
      });
      expect(runs[0]).toMatchObject({ status: 'completed', counts: { selected: 3, changed: 3, failed: 0 } });
      const limited = ndjson((await usrun(['runs', 'list', '--db', db, '--json', '--limit', '1'])).stdout);
      expect(limited.map((x) => x['id'])).toEqual([2]);
    });

    it('shows a run with its items, diffs, logs and errors', async () => {
      const r = await usrun(['runs', 'show', '1', '--db', db]);
      expect(r.code).toBe(0);
      const out = r.stdout;
      expect(out).toMatch(/^run 1 completed/);
      expect(out).toContain(scriptPath);
      expect(out).toContain(`script sha256 ${createHash('sha256').update(SCRIPT).digest('hex')}`);
      expect(out).toContain(FILTER);
      expect(out).toContain('{"tag":"t1"}');
      expect(out).toContain('30 items: 13 changed, 7 unchanged, 6 skipped, 4 failed, 0 not found');
      const lines = out.split('\n');
      // Failures are grouped by message and location, with the users as examples.
      expect(out).toContain('failed (4 items):');
      for (const id of idsWith('failed')) {
        const name = usersBefore(id)['username'] as string;
        const at = lines.findIndex((l) =>
          new RegExp(`^ {2}1 × .*no luck for ${id} \\(journal-script\\.js:3:\\d+\\)$`).test(l),
        );
        expect(at).toBeGreaterThan(-1);
        expect(lines[at + 1]).toContain(`e.g. ${name} (#${id})`);
      }
      const u1 = usersBefore(1);
      const at = lines.findIndex((l) => l === `changed ${u1['username']} (#1)`);
      expect(at).toBeGreaterThan(-1);
      const block = lines.slice(
        at + 1,
        lines.findIndex((l, i) => i > at && !l.startsWith('  ')),
      );
      expect(block).toContain(`  description: ${JSON.stringify(u1['description'])} → "journal t1 1"`);
      expect(block).toContain('  + reply Session-Timeout := 3601');
      expect(block.some((l) => /^ {2}\+ attr seen = /.test(l))).toBe(true);
      expect(block).toContain(`  log: visiting ${u1['username']} tag=t1`);
      // The changed items are listed one by one (the others are counted, and grouped when they failed or
      // were skipped); --status lists any other kind.
      expect(out).toContain('13 changed items:');
      expect(
        lines.filter((l) => /^(changed|unchanged|skipped|failed|not_found) \S+ \(#/.test(l)),
      ).toHaveLength(13);
    });

    it('shows a run as NDJSON with --json, and filters items with --status', async () => {
      const r = await usrun(['runs', 'show', '1', '--db', db, '--json']);
      expect(r.code).toBe(0);
      const [head, ...items] = ndjson(r.stdout);
      expect(head?.['run']).toMatchObject({
        id: 1,
        kind: 'run',
        status: 'completed',
        script_path: scriptPath,
        counts: { selected: 30 },
      });
      expect(items.map((i) => i['user_id'])).toEqual(IDS);
      expect(items.map((i) => i['status'])).toEqual(IDS.map(expectedStatus));
      const journaled = await dbQuery<Row>(
        db,
        'SELECT seq, kind, target, "before", "after" FROM run_changes WHERE run_id = 1 ORDER BY seq, n',
      );
      for (const item of items) {
        const mine = journaled.filter((c) => c['seq'] === item['seq']);
        expect(
          (item['changes'] as Row[]).map((c) => [c['kind'], c['target'], c['before'], c['after']]),
        ).toEqual(
          mine.map((c) => [
            c['kind'],
            c['target'],
            c['before'] === null ? null : JSON.parse(c['before'] as string),
            c['after'] === null ? null : JSON.parse(c['after'] as string),
          ]),
        );
      }

      const failedJson = await usrun(['runs', 'show', '1', '--db', db, '--json', '--status', 'failed']);
      expect(failedJson.code).toBe(0);
      const failedItems = ndjson(failedJson.stdout).slice(1);
      expect(failedItems.map((i) => i['user_id'])).toEqual(idsWith('failed'));
      expect(
        failedItems.every(
          (i) => i['status'] === 'failed' && String(i['error']?.['message']).includes('no luck'),
        ),
      ).toBe(true);

      const failedText = await usrun(['runs', 'show', '1', '--db', db, '--status', 'failed']);
      expect(failedText.code).toBe(0);
      const itemLines = failedText.stdout
        .split('\n')
        .filter((l) => /^(changed|unchanged|skipped|failed|not_found) /.test(l));
      expect(itemLines).toHaveLength(4);
      expect(itemLines.every((l) => l.startsWith('failed '))).toBe(true);
    });

    it('shows a running run with the counts of its journaled items, as runs list does', async () => {
      // As a killed run (or a shared run's workers, which leave runs.counts to the end) leaves it:
      // running, its items journaled, its counts not yet written.
      const zero = { selected: 0, changed: 0, unchanged: 0, skipped: 0, failed: 0, not_found: 0 };
      const [kept] = await dbQuery<Row>(db, 'SELECT status, counts, finished_at FROM runs WHERE id = 2');
      await dbQuery(db, "UPDATE runs SET status = 'running', counts = ?, finished_at = NULL WHERE id = 2", [
        JSON.stringify(zero),
      ]);
      try {
        const text = await usrun(['runs', 'show', '2', '--db', db]);
        expect(text.code).toBe(0);
        expect(text.stdout).toMatch(/^run 2 running/);
        expect(text.stdout).toContain('3 items: 3 changed, 0 unchanged, 0 skipped, 0 failed, 0 not found');
        const json = await usrun(['runs', 'show', '2', '--db', db, '--json']);
        expect(json.code).toBe(0);
        const counts = { ...zero, selected: 3, changed: 3 };
        expect(ndjson(json.stdout)[0]?.['run']).toMatchObject({ id: 2, status: 'running', counts });
        const list = ndjson((await usrun(['runs', 'list', '--db', db, '--json'])).stdout);
        expect(list[0]).toMatchObject({ id: 2, counts });
      } finally {
        await dbQuery(db, 'UPDATE runs SET status = ?, counts = ?, finished_at = ? WHERE id = 2', [
          kept?.['status'],
          kept?.['counts'],
          kept?.['finished_at'],
        ]);
      }
    });

    it('refuses an unknown run id or status with exit 2', async () => {
      const whole = await dumpDb(db);
      for (const args of [
        ['runs', 'show', '99'],
        ['runs', 'show', '99', '--json'],
        ['runs', 'undo', '99'],
        ['run', '--resume', '99'],
      ]) {
        const r = await usrun([...args, '--db', db]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toContain('99');
        expect(r.stdout).toBe('');
      }
      const bad = await usrun(['runs', 'show', '1', '--status', 'bogus', '--db', db]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--status');
      expect(await dumpDb(db)).toEqual(whole);
    });
  });
});
