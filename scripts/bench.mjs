// `npm run bench [-- --users N]`: usrun's throughput on the standard script against a
// hand-written better-sqlite3 loop doing the same writes, one transaction per user, on a copy of
// the same database. Prints both rates, their ratio and peak RSS. A benchmark, not a test.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const users = flag('--users', 100_000);
const keep = args.includes('--keep');

const { usingStore } = await import(join(root, 'dist/store/using-store.js'));
const { seedDemo } = await import(join(root, 'dist/store/seed-demo.js'));

const dir = mkdtempSync(join(tmpdir(), 'usrun-bench-'));
const dbUsrun = join(dir, 'usrun.db');
const dbHand = join(dir, 'hand.db');
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

console.log(`building ${users.toLocaleString('en')} users in ${dir} …`);
let t = Date.now();
await usingStore({ location: dbUsrun, create: true }, (store) => seedDemo(store, users));
{
  const db = new Database(dbUsrun);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
copyFileSync(dbUsrun, dbHand);
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
t = Date.now();
const child = spawn(join(root, 'bin/usrun'), ['run', script, '--all', '--yes', '--db', dbUsrun], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, NO_COLOR: '1' },
});
const watch = watchPeak(child.pid);
let out = '';
child.stdout.on('data', (d) => (out += d));
const code = await new Promise((resolve) => child.on('close', resolve));
const usrunSecs = (Date.now() - t) / 1000;
const peaks = watch.stop();
if (code !== 0) {
  console.error(out);
  throw new Error(`usrun exited with ${code}`);
}
process.stdout.write(`  usrun: ${out.trim()}\n`);

// 2. The hand-written loop: same writes, prepared statements, one transaction per user.
t = Date.now();
{
  const db = new Database(dbHand);
  // The same connection settings as usrun's SQLite driver (src/store/dialects/sqlite.ts), so the
  // ratio measures usrun's own overhead, not a tuning difference.
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
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
  const one = db.transaction((u, now) => {
    setEmail.run(`${u.username}@bench.example`, now, u.obj_id);
    addProfile.run(u.obj_id, gold);
    delReply.run(u.obj_id);
    addReply.run(u.obj_id);
    setCheck.run(u.obj_id);
    setAttr.run(u.obj_id, JSON.stringify({ tier: 'gold', since: 2026 }), now, now);
  });
  let after = 0;
  for (;;) {
    const rows = page.all(after);
    if (rows.length === 0) break;
    for (const u of rows) one(u, new Date().toISOString());
    after = rows[rows.length - 1].obj_id;
  }
  db.close();
}
const handSecs = (Date.now() - t) / 1000;

const mb = (b) => `${Math.round(b / 1024 / 1024)} MB`;
const [cliPeak = 0, ...childPeaks] = [...peaks.values()];
const usrunRate = users / usrunSecs;
const handRate = users / handSecs;
console.log(`
users                 ${users.toLocaleString('en')}
usrun run             ${Math.round(usrunRate).toLocaleString('en')} users/s  (${usrunSecs.toFixed(1)} s wall, process start included)
hand-written loop     ${Math.round(handRate).toLocaleString('en')} users/s  (${handSecs.toFixed(1)} s)
ratio usrun/hand      ${(usrunRate / handRate).toFixed(2)}
peak RSS              CLI ${mb(cliPeak)}, sandbox child ${childPeaks.map(mb).join(', ') || 'n/a'}, bench process ${mb(process.resourceUsage().maxRSS * 1024)}`);
if (!keep) rmSync(dir, { recursive: true, force: true });
