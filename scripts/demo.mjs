// `npm run demo`: a fresh demo.db with 1,000 generated users, then one example script run first
// with --dry-run and then for real, through the real CLI.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const usrun = join(root, 'bin', 'usrun');
const db = 'demo.db';

function step(title, args) {
  const shown = args.map((a) => (/[\s"]/.test(a) ? `'${a}'` : a)).join(' ');
  const bold =
    process.stdout.isTTY && process.env.NO_COLOR === undefined ? (t) => `\x1b[1m${t}\x1b[0m` : (t) => t;
  console.log(`\n${bold(`$ usrun ${shown}`)}${title ? `   # ${title}` : ''}`);
  const result = spawnSync(usrun, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0 && result.status !== 1) {
    console.error(`demo: usrun exited with ${result.status}`);
    process.exit(result.status ?? 1);
  }
}

for (const suffix of ['', '-wal', '-shm']) rmSync(join(root, db + suffix), { force: true });
const filter = 'email pr';
step('create demo.db with 1,000 users', ['init', '--db', db, '--demo', '1000']);
step('a filter: active users idle for 90 days', [
  'users',
  'list',
  '--db',
  db,
  '--filter',
  'last_login lt "-90d" and is_active eq true',
  '--limit',
  '5',
]);
step('see what would change', [
  'run',
  'scripts-examples/normalise-emails.js',
  '--db',
  db,
  '--filter',
  filter,
  '--dry-run',
]);
step('now for real', [
  'run',
  'scripts-examples/normalise-emails.js',
  '--db',
  db,
  '--filter',
  filter,
  '--yes',
]);
step('deactivate users idle for 90 days (summary only)', [
  'run',
  'scripts-examples/deactivate-idle-users.js',
  '--db',
  db,
  '--filter',
  'is_active eq true and (last_login lt "-90d" or (last_login eq null and date_joined lt "-90d"))',
  '--yes',
]);
step('the journal', ['runs', 'list', '--db', db]);
console.log(
  '\nNext: npx usrun runs show 2 --db demo.db --status changed, then npx usrun runs undo 2 --db demo.db --dry-run',
);
