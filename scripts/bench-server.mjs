// `npm run bench -- --db postgres://… | mysql://… [--users N] [--concurrency C] [--cpu-users N] [--cpu-ms MS]`:
// usrun's throughput on a server database against two hand-written loops (pg or mysql2) doing the
// same writes in databases seeded alike: one transaction per user, and group commit (500 users
// per transaction, a savepoint each, plus the journal rows usrun writes), both with as many
// connections as usrun commits on. Then a CPU-heavy script over one run: one worker, and two
// workers (`--join`). Creates its databases on the server named by the URL (it needs CREATE
// DATABASE there) and drops them at the end. A benchmark, not a test.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';
import { CHANGES, changeValues } from './bench-journal.mjs';

export async function benchServer(root, args) {
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
  };
  const server = option('--db');
  const users = Number(option('--users', 20_000));
  const concurrency = Number(option('--concurrency', 4));
  const cpuUsers = Number(option('--cpu-users', 400));
  const cpuMs = Number(option('--cpu-ms', 20));
  const keep = args.includes('--keep');
  const postgres = /^postgres(ql)?:/i.test(server);

  const { usingStore } = await import(join(root, 'dist/store/using-store.js'));
  const { seedDemo } = await import(join(root, 'dist/store/seed-demo.js'));
  const { MYSQL_SESSION_SQL } = await import(join(root, 'dist/store/dialects/mysql/open-mysql.js'));
  const caps = postgres
    ? (await import(join(root, 'dist/store/dialects/postgres/capabilities.js'))).postgresCapabilities
    : (await import(join(root, 'dist/store/dialects/mysql/capabilities.js'))).mysqlCapabilities;
  // What usrun commits on: --concurrency lanes, at most the dialect's writers.
  const lanes = Math.max(1, Math.min(concurrency, caps.maxWriters));

  const base = `usrun_bench_${randomBytes(3).toString('hex')}`;
  const names = { usrun: `${base}_usrun`, hand: `${base}_hand`, group: `${base}_group`, cpu: `${base}_cpu` };
  const urlOf = (name) => {
    const url = new URL(server);
    url.pathname = `/${name}`;
    return url.toString();
  };

  // A driver connection of the hand loops: `?` placeholders, as in usrun's own SQL.
  async function connect(url) {
    if (postgres) {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url });
      client.on('error', () => undefined);
      await client.connect();
      const number = (sql) => {
        let n = 0;
        return sql.replace(/\?/g, () => `$${++n}`);
      };
      return {
        query: async (sql, params = []) => (await client.query(number(sql), params)).rows,
        end: () => client.end(),
      };
    }
    const mysql = (await import('mysql2/promise')).default;
    const connection = await mysql.createConnection({ uri: url, flags: ['FOUND_ROWS'] });
    // The session usrun's connections have: ANSI quotes, READ COMMITTED.
    for (const text of MYSQL_SESSION_SQL) await connection.query(text);
    return {
      query: async (sql, params = []) => (await connection.query(sql, params))[0],
      end: () => connection.end(),
    };
  }

  const admin = await connect(server);
  const dir = mkdtempSync(join(tmpdir(), 'usrun-bench-'));
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(', ');
  console.log(
    `server ${new URL(server).host}, ${users.toLocaleString('en')} users, usrun --concurrency ${concurrency} (${lanes} writer${lanes === 1 ? '' : 's'} on this dialect)`,
  );
  console.log(`load average at start: ${load()} (the machine is shared)`);

  try {
    let t = Date.now();
    for (const name of Object.values(names)) {
      await admin.query(
        postgres ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} CHARACTER SET utf8mb4`,
      );
      await usingStore({ location: urlOf(name), create: true }, (store) =>
        seedDemo(store, name === names.cpu ? cpuUsers : users, { now: new Date('2026-12-01T00:00:00Z') }),
      );
    }
    console.log(`  seeded 4 databases in ${((Date.now() - t) / 1000).toFixed(1)}s`);

    const script = join(dir, 'standard.js');
    writeFileSync(
      script,
      `user.email = user.username + '@bench.example';
user.profile_add('gold');
user.attribute_add('Session-Timeout', 3600, ':=');
user.check_attribute_add('Max-Daily-Session', 14400, '==');
user.attr.set('plan', { tier: 'gold', since: 2026 });
`,
    );
    const usrunRun = (argv) =>
      new Promise((resolve, reject) => {
        const child = spawn(join(root, 'bin/usrun'), argv, {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, NO_COLOR: '1' },
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) =>
          code === 0 ? resolve(out.trim()) : reject(new Error(`usrun exited ${code}: ${out}`)),
        );
      });

    // 1. usrun, through the real CLI.
    t = Date.now();
    const usrunOut = await usrunRun([
      'run',
      script,
      '--all',
      '--yes',
      '--db',
      urlOf(names.usrun),
      '--concurrency',
      String(concurrency),
    ]);
    const usrunSecs = (Date.now() - t) / 1000;
    console.log(`  usrun: ${usrunOut}`);
    const loadAfterUsrun = load();

    // 2 and 3. The same writes by hand, `lanes` connections each taking the next users.
    const upsertAttr = postgres
      ? `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at) VALUES (?, 'plan', ?, FALSE, NULL, ?, ?)
         ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, expires_at = NULL, updated_at = excluded.updated_at`
      : `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at) VALUES (?, 'plan', ?, 0, NULL, ?, ?)
         ON DUPLICATE KEY UPDATE value = VALUES(value), expires_at = NULL, updated_at = VALUES(updated_at)`;
    const addProfile = postgres
      ? 'INSERT INTO user_profiles (user_id, profile_id, priority) VALUES (?, ?, 1) ON CONFLICT DO NOTHING'
      : 'INSERT IGNORE INTO user_profiles (user_id, profile_id, priority) VALUES (?, ?, 1)';

    async function handLoop(name, { groupSize, journal }) {
      let deadlocks = 0;
      const url = urlOf(name);
      const first = await connect(url);
      const gold = (await first.query("SELECT id FROM profiles WHERE short_name = 'gold'"))[0].id;
      const ids = (await first.query('SELECT obj_id, username, version FROM users ORDER BY obj_id')).map(
        (u) => ({
          id: Number(u.obj_id),
          username: u.username,
          version: Number(u.version),
        }),
      );
      let runId = 0;
      if (journal) {
        await first.query(
          `INSERT INTO runs (kind, script_text, script_sha256, selection, params, os_user, host, started_at, status, counts)
           VALUES ('run', '', '', '{}', '{}', 'bench', 'bench', ?, 'running', '{}')`,
          [new Date().toISOString()],
        );
        runId = Number((await first.query('SELECT max(id) AS id FROM runs'))[0].id);
      }
      await first.end();
      const one = async (db, u, now) => {
        await db.query('UPDATE users SET email = ?, last_update = ? WHERE obj_id = ? AND version = ?', [
          `${u.username}@bench.example`,
          now,
          u.id,
          u.version,
        ]);
        await db.query(addProfile, [u.id, gold]);
        await db.query("DELETE FROM reply_attributes WHERE user_id = ? AND attr = 'Session-Timeout'", [u.id]);
        await db.query(
          "INSERT INTO reply_attributes (user_id, attr, op, value) VALUES (?, 'Session-Timeout', ':=', '3600')",
          [u.id],
        );
        await db.query(
          "INSERT INTO check_attributes (user_id, attr, op, value) VALUES (?, 'Max-Daily-Session', '==', '14400')",
          [u.id],
        );
        await db.query(upsertAttr, [u.id, JSON.stringify({ tier: 'gold', since: 2026 }), now, now]);
      };
      // A user's journal rows, written with the group's, after the run's row (as usrun does:
      // taking that row before the journal's foreign keys share-lock it keeps lanes apart).
      const journalRows = async (db, u, now) => {
        await db.query(
          `INSERT INTO run_items (run_id, seq, user_id, username, row_json, status, error, logs, finished_at)
           VALUES (?, ?, ?, ?, NULL, 'changed', NULL, NULL, ?)`,
          [runId, u.id, u.id, u.username, now],
        );
        await db.query(
          `INSERT INTO run_changes (run_id, seq, n, user_id, kind, target, "before", "after") VALUES ${CHANGES.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          changeValues(u.username, now).flatMap(([before, after], n) => [
            runId,
            u.id,
            n,
            u.id,
            ...CHANGES[n],
            before,
            after,
          ]),
        );
      };
      let next = 0;
      const lane = async () => {
        const db = await connect(url);
        try {
          for (;;) {
            const part = ids.slice(next, next + groupSize);
            next += groupSize;
            if (part.length === 0) return;
            // A transaction the server rolls back for a deadlock is done again, whole.
            for (let tries = 1; ; tries++) {
              try {
                await db.query('BEGIN');
                const stamps = [];
                for (const u of part) {
                  if (groupSize > 1) await db.query('SAVEPOINT u');
                  stamps.push(new Date().toISOString());
                  await one(db, u, stamps.at(-1));
                  if (groupSize > 1) await db.query('RELEASE SAVEPOINT u');
                }
                if (journal) {
                  await db.query('UPDATE runs SET counts = ? WHERE id = ?', [
                    JSON.stringify({ changed: next }),
                    runId,
                  ]);
                  for (const [i, u] of part.entries()) await journalRows(db, u, stamps[i]);
                }
                await db.query('COMMIT');
                break;
              } catch (error) {
                await db.query('ROLLBACK').catch(() => undefined);
                if (!['40001', '40P01'].includes(error.sqlState ?? error.code) || tries >= 5) throw error;
                deadlocks += 1;
              }
            }
          }
        } finally {
          await db.end();
        }
      };
      const start = Date.now();
      await Promise.all(Array.from({ length: lanes }, lane));
      return { secs: (Date.now() - start) / 1000, deadlocks };
    }

    const hand = await handLoop(names.hand, { groupSize: 1, journal: false });
    const group = await handLoop(names.group, { groupSize: 500, journal: true });
    const [handSecs, groupSecs] = [hand.secs, group.secs];
    const retried = (loop) => (loop.deadlocks > 0 ? `; ${loop.deadlocks} deadlocks, done again` : '');

    // 4. A CPU-heavy script over one run: one worker, then two (the second joins the run).
    const heavy = join(dir, 'heavy.js');
    writeFileSync(
      heavy,
      `// about ${cpuMs} ms of CPU per user, then one small write
let h = 0;
const t = Date.now();
while (Date.now() - t < ${cpuMs}) h = (h * 31 + 7) % 1000003;
user.description = 'heavy ' + params.round + (h >= 0 ? '' : '!');
`,
    );
    const cpuDb = urlOf(names.cpu);
    const heavyRun = (round) =>
      usrunRun(['run', heavy, '--all', '--yes', '--db', cpuDb, '--param', `round=${round}`]);
    t = Date.now();
    await heavyRun(1);
    const oneSecs = (Date.now() - t) / 1000;
    const loadOne = load();
    // Again over the same users, changing each again (round 2), with two workers.
    const cpu = await connect(cpuDb);
    t = Date.now();
    const first = heavyRun(2);
    let runId = null;
    while (runId === null) {
      const [row] = await cpu.query("SELECT id FROM runs WHERE id > 1 AND status = 'running'");
      if (row) runId = Number(row.id);
      else await sleep(20);
    }
    const second = usrunRun(['run', '--join', String(runId), '--db', cpuDb]);
    await Promise.all([first, second]);
    const twoSecs = (Date.now() - t) / 1000;
    const loadTwo = load();
    const workers = await cpu.query(
      'SELECT pid, chunks, items FROM run_workers WHERE run_id = ? ORDER BY started_at',
      [runId],
    );
    // usrun's default chunk size (no --chunk-size): what the run was cut into.
    const [{ n: chunkCount }] = await cpu.query('SELECT count(*) AS n FROM run_chunks WHERE run_id = ?', [
      runId,
    ]);
    await cpu.end();

    const rate = (n, s) => `${Math.round(n / s).toLocaleString('en')} users/s`.padEnd(16);
    const best = Math.min(handSecs, groupSecs);
    console.log(`
dialect                     ${postgres ? 'PostgreSQL' : 'MariaDB/MySQL'}, ${lanes} connection${lanes === 1 ? '' : 's'} committing
users                       ${users.toLocaleString('en')}
usrun run                   ${rate(users, usrunSecs)} (${usrunSecs.toFixed(1)} s wall, process start included; load after: ${loadAfterUsrun})
hand loop, txn per user     ${rate(users, handSecs)} (${handSecs.toFixed(1)} s${retried(hand)})
hand loop, group commit     ${rate(users, groupSecs)} (${groupSecs.toFixed(1)} s; 500 users per transaction, a savepoint each, journal rows${retried(group)})
usrun / per-user loop       ${(handSecs / usrunSecs).toFixed(2)}x
usrun / group-commit loop   ${(groupSecs / usrunSecs).toFixed(2)}x
usrun / best hand loop      ${(best / usrunSecs).toFixed(2)}x   (goal ≥ 0.8)
CPU-heavy (${cpuMs} ms/user, ${cpuUsers} users, usrun's default chunks: ${chunkCount}):
  one worker                ${oneSecs.toFixed(1)} s (load after: ${loadOne})
  two workers (--join)      ${twoSecs.toFixed(1)} s (load after: ${loadTwo}); ${workers.map((w) => `pid ${w.pid}: ${w.chunks} chunks, ${w.items} items`).join('; ')}
  two / one                 ${(oneSecs / twoSecs).toFixed(2)}x   (goal ≥ 1.6)
load average at end: ${load()}`);
  } finally {
    if (!keep) {
      for (const name of Object.values(names)) {
        await admin
          .query(
            postgres ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`,
          )
          .catch(() => undefined);
      }
    }
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
