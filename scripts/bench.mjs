// `npm run bench [-- --users N] [-- --python]` (`-- --db postgres://… | mysql://…`: see
// bench-server.mjs): usrun's throughput on the standard script against two
// hand-written better-sqlite3 loops doing the same writes on copies of the same database: one
// transaction per user, and group commit (500 users per transaction, a SAVEPOINT per user, plus
// the journal rows usrun writes). Prints the rates, the ratios, peak RSS and `usrun --help`'s
// start-up time. With --python, the same standard script written in Python runs too (through the
// CLI on another copy, and in the sandbox alone), and the per-user costs of both are compared.
// A benchmark, not a test.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { CHANGES, changeValues } from './bench-journal.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args.includes('--db')) {
  // A server database: scripts/bench-server.mjs (PostgreSQL or MariaDB/MySQL, and --join).
  await (await import('./bench-server.mjs')).benchServer(root, args);
  process.exit(0);
}
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const users = flag('--users', 100_000);
const keep = args.includes('--keep');
const python = args.includes('--python');

const { usingStore } = await import(join(root, 'dist/store/using-store.js'));
const { seedDemo } = await import(join(root, 'dist/store/seed-demo.js'));

const dir = mkdtempSync(join(tmpdir(), 'usrun-bench-'));
const dbUsrun = join(dir, 'usrun.db');
const dbHand = join(dir, 'hand.db');
const dbGroup = join(dir, 'group.db');
const dbPython = join(dir, 'python.db');
const script = join(dir, 'standard.js');
const STANDARD_JS = `user.email = user.username + '@bench.example';
user.profile_add('gold');
user.attribute_add('Session-Timeout', 3600, ':=');
user.check_attribute_add('Max-Daily-Session', 14400, '==');
user.attr.set('plan', { tier: 'gold', since: 2026 });
`;
writeFileSync(script, STANDARD_JS);
// The same script in Python, keyword arguments as the seed writes them.
const scriptPy = join(dir, 'standard.py');
const STANDARD_PY = `user.email = user.username + '@bench.example'
user.profile_add(short_name='gold')
user.attribute_add(attr='Session-Timeout', value=3600, operation=':=')
user.check_attribute_add(attr='Max-Daily-Session', value=14400, operation='==')
user.attr.set('plan', {'tier': 'gold', 'since': 2026})
`;
writeFileSync(scriptPy, STANDARD_PY);

console.log(`building ${users.toLocaleString('en')} users in ${dir} …`);
let t = Date.now();
await usingStore({ location: dbUsrun, create: true }, (store) => seedDemo(store, users));
{
  const db = new Database(dbUsrun);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
copyFileSync(dbUsrun, dbHand);
copyFileSync(dbUsrun, dbGroup);
if (python) copyFileSync(dbUsrun, dbPython);
console.log(`  seeded in ${((Date.now() - t) / 1000).toFixed(1)}s`);

/** Peak RSS (VmHWM) of a process and its children, polled from /proc while it runs. */
function watchPeak(pid) {
  const peaks = new Map();
  const read = () => {
    for (const p of [pid, ...childrenOf(pid)]) {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
        if (m) peaks.set(p, Math.max(peaks.get(p) ?? 0, Number(m[1]) * 1024));
      } catch {
        /* gone */
      }
    }
  };
  const timer = setInterval(read, 50);
  return { stop: () => (clearInterval(timer), read(), peaks) };
}
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

// 1. usrun, through the real CLI.
async function runUsrun(path, db) {
  const started = Date.now();
  const child = spawn(join(root, 'bin/usrun'), ['run', path, '--all', '--yes', '--db', db], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const watch = watchPeak(child.pid);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  const secs = (Date.now() - started) / 1000;
  const peaks = watch.stop();
  if (code !== 0) {
    console.error(out);
    throw new Error(`usrun exited with ${code}`);
  }
  process.stdout.write(`  usrun: ${out.trim()}\n`);
  return { secs, peaks };
}
const { secs: usrunSecs, peaks } = await runUsrun(script, dbUsrun);
const pythonRun = python ? await runUsrun(scriptPy, dbPython) : undefined;

/**
 * The sandbox alone (no database): µs per user of `source`, one isolate running `n` users of a
 * realistic snapshot in batches of 500, after a warm-up batch.
 */
async function sandboxMicros(source, filename, n = 10_000) {
  const { IsolateSession } = await import(join(root, 'dist/sandbox/isolate-session.js'));
  const { encodeJobs } = await import(join(root, 'dist/sandbox/encode-jobs.js'));
  const session = await IsolateSession.start({
    source,
    filename,
    params: {},
    profiles: [{ id: 1, short_name: 'gold', name: 'Gold' }],
    timeoutMs: 10_000,
    memoryMb: 128,
    maxLogLines: 50,
  });
  const user = {
    fields: { obj_id: 1, username: 'alice', email: 'alice@example.net', is_active: true },
    profiles: [],
    attributes: [],
    check_attributes: [],
    attrs: [],
  };
  const jobs = Array.from({ length: 500 }, (_, i) => ({ seq: i, user, row: null }));
  const lines = encodeJobs(jobs);
  const batch = () =>
    session.runBatch(
      lines,
      jobs.length,
      0,
      () => undefined,
      () => false,
    );
  await batch();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n / jobs.length; i++) await batch();
  const micros = Number(process.hrtime.bigint() - start) / 1000 / n;
  session.dispose();
  return micros;
}
const sandboxJs = python ? await sandboxMicros(STANDARD_JS, 'standard.js') : 0;
const sandboxPy = python ? await sandboxMicros(STANDARD_PY, 'standard.py') : 0;

// 2 and 3. Hand-written loops doing the same writes, with the same connection settings as usrun's
// SQLite driver (src/store/dialects/sqlite/open-sqlite.ts), so the ratios measure usrun's own
// overhead, not a tuning difference.
function handLoop(path, { groupSize, journal }) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -65536');
  db.pragma('wal_autocheckpoint = 10000');
  const gold = db.prepare("SELECT id FROM profiles WHERE short_name = 'gold'").get().id;
  const page = db.prepare('SELECT obj_id, username FROM users WHERE obj_id > ? ORDER BY obj_id LIMIT 500');
  const setEmail = db.prepare('UPDATE users SET email = ?, last_update = ? WHERE obj_id = ?');
  const addProfile = db.prepare(
    'INSERT OR IGNORE INTO user_profiles (user_id, profile_id, priority) VALUES (?, ?, 1)',
  );
  const delReply = db.prepare("DELETE FROM reply_attributes WHERE user_id = ? AND attr = 'Session-Timeout'");
  const addReply = db.prepare(
    "INSERT INTO reply_attributes (user_id, attr, op, value) VALUES (?, 'Session-Timeout', ':=', '3600')",
  );
  const setCheck = db.prepare(
    "INSERT INTO check_attributes (user_id, attr, op, value) VALUES (?, 'Max-Daily-Session', '==', '14400')",
  );
  const setAttr = db.prepare(
    `INSERT INTO user_attrs (user_id, name, value, is_encrypted, expires_at, created_at, updated_at) VALUES (?, 'plan', ?, 0, NULL, ?, ?)
     ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value, expires_at = NULL, updated_at = excluded.updated_at`,
  );
  // The journal rows usrun writes per changed user: its run_items row and its run_changes rows.
  const runId = journal
    ? Number(
        db
          .prepare(
            `INSERT INTO runs (kind, script_text, script_sha256, selection, params, os_user, host, started_at, status, counts)
             VALUES ('run', '', '', '{}', '{}', 'bench', 'bench', ?, 'running', '{}')`,
          )
          .run(new Date().toISOString()).lastInsertRowid,
      )
    : 0;
  const item = db.prepare(
    `INSERT INTO run_items (run_id, seq, user_id, username, row_json, status, error, logs, finished_at)
     VALUES (?, ?, ?, ?, NULL, 'changed', NULL, NULL, ?)`,
  );
  const changes = db.prepare(
    `INSERT INTO run_changes (run_id, seq, n, user_id, kind, target, before, after) VALUES ${Array(
      CHANGES.length,
    )
      .fill('(?, ?, ?, ?, ?, ?, ?, ?)')
      .join(', ')}`,
  );
  const counts = db.prepare('UPDATE runs SET counts = ? WHERE id = ?');
  const one = (u, now) => {
    setEmail.run(`${u.username}@bench.example`, now, u.obj_id);
    addProfile.run(u.obj_id, gold);
    delReply.run(u.obj_id);
    addReply.run(u.obj_id);
    setCheck.run(u.obj_id);
    setAttr.run(u.obj_id, JSON.stringify({ tier: 'gold', since: 2026 }), now, now);
    if (journal) {
      item.run(runId, u.obj_id, u.obj_id, u.username, now);
      changes.run(
        ...changeValues(u.username, now).flatMap(([before, after], n) => [
          runId,
          u.obj_id,
          n,
          u.obj_id,
          ...CHANGES[n],
          before,
          after,
        ]),
      );
    }
  };
  const savepoint = db.prepare('SAVEPOINT u');
  const release = db.prepare('RELEASE SAVEPOINT u');
  const group = db.transaction((users) => {
    for (const u of users) {
      savepoint.run();
      one(u, new Date().toISOString());
      release.run();
    }
    if (journal) counts.run(JSON.stringify({ changed: users.length }), runId);
  });
  const single = db.transaction((u) => one(u, new Date().toISOString()));
  let after = 0;
  for (;;) {
    const rows = page.all(after);
    if (rows.length === 0) break;
    if (groupSize > 1) for (let i = 0; i < rows.length; i += groupSize) group(rows.slice(i, i + groupSize));
    else for (const u of rows) single(u);
    after = rows[rows.length - 1].obj_id;
  }
  db.close();
}

t = Date.now();
handLoop(dbHand, { groupSize: 1, journal: false });
const handSecs = (Date.now() - t) / 1000;

t = Date.now();
handLoop(dbGroup, { groupSize: 500, journal: true });
const groupSecs = (Date.now() - t) / 1000;

// 4. Start-up: `usrun --help`, median of 11.
const helpTimes = [];
for (let i = 0; i < 11; i++) {
  const start = process.hrtime.bigint();
  await new Promise((resolve) =>
    spawn(join(root, 'bin/usrun'), ['--help'], { stdio: 'ignore' }).on('close', resolve),
  );
  helpTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
}
helpTimes.sort((a, b) => a - b);

const mb = (b) => `${Math.round(b / 1024 / 1024)} MB`;
const [cliPeak = 0, ...childPeaks] = [...peaks.values()];
const usrunRate = users / usrunSecs;
const handRate = users / handSecs;
const groupRate = users / groupSecs;
const rate = (r) => `${Math.round(r).toLocaleString('en')} users/s`.padEnd(16);
console.log(`
users                       ${users.toLocaleString('en')}
usrun run                   ${rate(usrunRate)} (${usrunSecs.toFixed(1)} s wall, process start included)
hand loop, txn per user     ${rate(handRate)} (${handSecs.toFixed(1)} s)
hand loop, group commit     ${rate(groupRate)} (${groupSecs.toFixed(1)} s; 500 users per transaction, a savepoint each, journal rows)
usrun / per-user loop       ${(usrunRate / handRate).toFixed(2)}x   (goal ≥ 4)
usrun / group-commit loop   ${(usrunRate / groupRate).toFixed(2)}x   (goal ≥ 0.7)
peak RSS                    CLI ${mb(cliPeak)}, sandbox child ${childPeaks.map(mb).join(', ') || 'n/a'}, bench process ${mb(process.resourceUsage().maxRSS * 1024)}
usrun --help                median ${helpTimes[5].toFixed(0)} ms of 11 (goal < 150)`);
if (pythonRun) {
  const pyRate = users / pythonRun.secs;
  const [pyCli = 0, ...pyChild] = [...pythonRun.peaks.values()];
  console.log(`usrun run, Python script    ${rate(pyRate)} (${pythonRun.secs.toFixed(1)} s wall; JavaScript / Python ${(usrunRate / pyRate).toFixed(2)}x)
per user, CLI end to end    JavaScript ${((1e6 * usrunSecs) / users).toFixed(0)} µs, Python ${((1e6 * pythonRun.secs) / users).toFixed(0)} µs
per user, sandbox alone     JavaScript ${sandboxJs.toFixed(1)} µs, Python ${sandboxPy.toFixed(1)} µs (${(sandboxPy / sandboxJs).toFixed(1)}x; 10,000 users, no database)
peak RSS, Python run        CLI ${mb(pyCli)}, sandbox child ${pyChild.map(mb).join(', ') || 'n/a'}`);
}
if (!keep) rmSync(dir, { recursive: true, force: true });
