import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ExitError, UsageError } from '../errors.js';
import { describeCommand, type EnvName } from './help-texts.js';
import type { Io } from './io.js';
import { collectParam, nonNegativeInt, parseDelimiter, positiveInt } from './options.js';

/**
 * Each command's module, loaded only when that command runs: `usrun --help`, `--version` and
 * every command load just what they use (the sandbox and database drivers above all).
 */
const commands = {
  attrs: () => import('./commands/attrs.js'),
  filters: () => import('./commands/filters.js'),
  init: () => import('./commands/init.js'),
  profiles: () => import('./commands/profiles.js'),
  radius: () => import('./commands/radius.js'),
  runs: () => import('./commands/runs.js'),
  scripts: () => import('./commands/scripts.js'),
  types: () => import('./commands/types.js'),
  users: () => import('./commands/users.js'),
};

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const DB_HELP = 'SQLite file or postgres:// / mysql:// URL (default: $USRUN_DB, else ./usrun.db)';

/** What every command that opens the database reads from the environment. */
const DB_ENV: readonly EnvName[] = ['USRUN_DB', 'NO_COLOR'];

function withDb(command: Command): Command {
  return command.option('--db <path>', DB_HELP);
}

/** Exit with the command's code when it is not 0 (its output is already printed). */
function exitWith(code: number): void {
  if (code !== 0) throw new ExitError(code);
}

/**
 * The command table: argv in, plain function calls out. Each action only maps options to a
 * function in `commands/`; errors go up to main's single handler.
 */
export function buildProgram(io: Io): Command {
  const program = new Command('usrun')
    .description(
      'Run your own JavaScript over many users of a RADIUS-style directory: sandboxed, validated, journaled, undoable.',
    )
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Commander's own errors start "error:"; every error of usrun starts "usrun:".
      outputError: (s, write) => write(s.replace(/^error: /, 'usrun: ')),
    })
    .exitOverride()
    .helpCommand(false);
  describeCommand(program, {
    examples: [
      'usrun init --demo 1000',
      `usrun users list --filter 'last_login lt "-90d" and is_active eq true'`,
      `usrun run scripts-examples/deactivate-idle-users.js --filter 'is_active eq true' --dry-run`,
      'usrun run scripts-examples/session-timeout-from-csv.js --csv scripts-examples/timeouts.csv --yes',
      'usrun scripts add idle scripts-examples/deactivate-idle-users.js',
      'usrun run @idle --all --dry-run',
      'usrun runs undo 12',
      'usrun help users list',
    ],
    notes: `Exit codes: 0 done, 1 some item failed or not found (or "no" at a [y/N] prompt), 2 bad usage
or input (nothing written), 3 interrupted (resumable), 130 Ctrl-C at a prompt.`,
    env: ['USRUN_DB', 'USRUN_KEY', 'NO_COLOR'],
  });

  withDb(program.command('init'))
    .description('create or upgrade the database schema')
    .option('--demo <n>', 'also add N generated demo users and a few profiles', positiveInt('--demo'))
    .option(
      '--allow-foreign',
      "add usrun's tables to a non-empty database that is not usrun's (refused without it)",
    )
    .action(async (opts) => (await commands.init()).initCommand(opts, io));
  describeCommand(program.commands.at(-1)!, {
    notes: "A database that holds other tables and is not usrun's is refused unless --allow-foreign.",
    examples: [
      'usrun init',
      'usrun init --db /var/lib/usrun/users.db --demo 1000',
      'usrun init --db postgres://usrun@db.example.net/radius',
    ],
    env: DB_ENV,
  });

  const users = program.command('users').description('list, show and import users');
  withDb(users.command('list'))
    .description('list users, optionally matching a filter')
    .option('--filter <expr>', 'SCIM filter expression, or @name of a saved filter')
    .option('--limit <n>', 'at most N users', positiveInt('--limit'))
    .option('--json', 'one JSON object per user (NDJSON)')
    .action(async (opts) => void (await (await commands.users()).usersListCommand(opts, io)));
  describeCommand(users.commands.at(-1)!, {
    examples: [
      `usrun users list --filter 'is_active eq true and last_login lt "-90d"' --limit 20`,
      'usrun users list --filter @idle --json',
    ],
    env: DB_ENV,
    filter: true,
  });
  withDb(users.command('show'))
    .argument('<user>', 'obj_id, username (any case), email or external_id')
    .description('show one user with profiles, reply/check attributes and attrs')
    .option('--json', 'as JSON')
    .action(async (key, opts) => (await commands.users()).usersShowCommand(key, opts, io));
  describeCommand(users.commands.at(-1)!, {
    notes:
      'The user is looked up by obj_id, then username, email and external_id (case-insensitive);\nthe output says which matched, and a key that fits several users lists them.',
    examples: [
      'usrun users show alice.smith',
      'usrun users show 42 --json',
      'usrun users show Alice@Example.net',
    ],
    env: DB_ENV,
  });
  withDb(users.command('import'))
    .argument('<file>', 'CSV file with a username column and any user fields')
    .description(
      'add or update users by username from a CSV file, as a journaled run (`runs undo` takes it back)',
    )
    .option('--delimiter <char>', 'field delimiter: , ; tab | (default: detected)', parseDelimiter)
    .option('--dry-run', "print each row's diff (+ user alice, email: … → …), write nothing")
    .option('--json', 'NDJSON on stdout: one object per row, then a summary')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .option('-v, --verbose', "print each changed user's diff on a real import too")
    .action(async (file, opts) =>
      exitWith(await (await commands.users()).usersImportCommand(file, opts, io)),
    );
  describeCommand(users.commands.at(-1)!, {
    notes: `Every row is checked first: a bad file writes nothing (exit 2). Then each row is one item of a
run in the journal (\`usrun runs show\`); \`usrun runs undo RUN_ID\` deletes the users it created
and restores the fields it changed. Importing the same file again changes nothing.`,
    examples: ['usrun users import people.csv --dry-run', 'usrun users import people.csv --yes'],
    env: DB_ENV,
  });

  const profiles = program
    .command('profiles')
    .description('list, show and add profiles (RADIUS groups) and their attributes');
  withDb(profiles.command('list'))
    .description('list profiles with their member counts')
    .option('--json', 'one JSON object per profile')
    .action(async (opts) => (await commands.profiles()).profilesListCommand(opts, io));
  describeCommand(profiles.commands.at(-1)!, {
    examples: ['usrun profiles list', 'usrun profiles list --json'],
    env: DB_ENV,
  });
  withDb(profiles.command('add'))
    .argument('<short_name>', 'unique short name, e.g. aaa-01')
    .description('add a profile')
    .option('--name <name>', 'display name')
    .option('--description <text>', 'description')
    .action(async (shortName, opts) => (await commands.profiles()).profilesAddCommand(shortName, opts, io));
  describeCommand(profiles.commands.at(-1)!, {
    examples: ['usrun profiles add gold --name "Gold plan"'],
    env: DB_ENV,
  });
  withDb(profiles.command('show'))
    .argument('<short_name>', 'the profile')
    .description('show a profile with its member count and its reply and check attributes')
    .option('--json', 'as JSON')
    .action(async (shortName, opts) => (await commands.profiles()).profilesShowCommand(shortName, opts, io));
  describeCommand(profiles.commands.at(-1)!, {
    examples: ['usrun profiles show gold', 'usrun profiles show gold --json'],
    env: DB_ENV,
  });
  const profileAttr = profiles
    .command('attr')
    .description("a profile's own reply/check attributes (FreeRADIUS radgroupreply / radgroupcheck)");
  withDb(profileAttr.command('add'))
    .argument('<short_name>', 'the profile')
    .argument('<attr>', 'attribute name, e.g. Session-Timeout')
    .argument('<op>', 'operator: reply = := +=; check also == != > >= < <= =~ !~ =* !*')
    .argument('<value>', 'value, at most 253 characters')
    .description(
      'add a reply (default) or check attribute to a profile, with the operator rules of attribute_add',
    )
    .option('--check', 'a check attribute (radgroupcheck) instead of a reply attribute')
    .option('--dry-run', 'print the diff, write nothing')
    .option('--json', 'print the result as JSON')
    .action(async (shortName, attr, op, value, opts) =>
      exitWith(
        await (await commands.profiles()).profilesAttrAddCommand(shortName, attr, op, value, opts, io),
      ),
    );
  describeCommand(profileAttr.commands.at(-1)!, {
    notes: 'A journaled run (kind profiles): `usrun runs undo RUN_ID` takes it back.',
    examples: [
      'usrun profiles attr add gold Session-Timeout := 7200',
      'usrun profiles attr add gold Simultaneous-Use := 2 --check',
    ],
    env: DB_ENV,
  });
  withDb(profileAttr.command('rm'))
    .argument('<short_name>', 'the profile')
    .argument('<attr>', 'attribute name')
    .argument('<value>', 'the value of the rows to remove')
    .description('remove the reply (default) or check rows with this attribute and value')
    .option('--op <op>', 'only rows with this operator')
    .option('--check', 'check attributes instead of reply attributes')
    .option('--dry-run', 'print the diff, write nothing')
    .option('--json', 'print the result as JSON')
    .action(async (shortName, attr, value, opts) =>
      exitWith(await (await commands.profiles()).profilesAttrRmCommand(shortName, attr, value, opts, io)),
    );
  describeCommand(profileAttr.commands.at(-1)!, {
    notes: 'A journaled run (kind profiles): `usrun runs undo RUN_ID` takes it back.',
    examples: [
      'usrun profiles attr rm gold Session-Timeout 7200',
      'usrun profiles attr rm gold Simultaneous-Use 2 --check',
    ],
    env: DB_ENV,
  });

  const filters = program
    .command('filters')
    .description('save, list and remove named filters (use them as --filter @name)');
  withDb(filters.command('save'))
    .argument('<name>', 'filter name')
    .argument('<expr>', 'SCIM filter expression')
    .description('check and save a filter expression under a name')
    .option('--force', 'replace a saved filter of that name (refused without it)')
    .action(async (name, expr, opts) => (await commands.filters()).filtersSaveCommand(name, expr, opts, io));
  describeCommand(filters.commands.at(-1)!, {
    examples: [
      `usrun filters save idle 'is_active eq true and last_login lt "-90d"'`,
      `usrun filters save idle 'last_login lt "-180d"' --force`,
      'usrun users list --filter @idle',
    ],
    env: DB_ENV,
    filter: true,
  });
  withDb(filters.command('list'))
    .description('list saved filters')
    .option('--json', 'NDJSON')
    .action(async (opts) => (await commands.filters()).filtersListCommand(opts, io));
  describeCommand(filters.commands.at(-1)!, {
    examples: ['usrun filters list', 'usrun filters list --json'],
    env: DB_ENV,
  });
  withDb(filters.command('rm'))
    .argument('<name>', 'filter name')
    .description('remove a saved filter')
    .action(async (name, opts) => (await commands.filters()).filtersRmCommand(name, opts, io));
  describeCommand(filters.commands.at(-1)!, { examples: ['usrun filters rm idle'], env: DB_ENV });

  const scripts = program
    .command('scripts')
    .description('the script library: saved, versioned scripts in the database (run them as @name)');
  withDb(scripts.command('add'))
    .argument('<name>', 'script name: letters, digits, _ and -')
    .argument('<file>', 'script file (.js or .ts), or - for stdin')
    .description('save a file as the next version of a script (an unchanged text makes no new version)')
    .option('--json', 'the name, version and whether a version was created, as JSON')
    .action(
      async (name, file, opts) =>
        void (await (await commands.scripts()).scriptsAddCommand(name, file, opts, io)),
    );
  describeCommand(scripts.commands.at(-1)!, {
    examples: [
      'usrun scripts add normalise-emails scripts-examples/normalise-emails.js',
      "usrun run @normalise-emails --filter 'email pr' --dry-run      # the newest version",
      "usrun run @normalise-emails@1 --filter 'email pr'              # version 1",
    ],
    env: DB_ENV,
  });
  withDb(scripts.command('list'))
    .description('saved scripts with their newest version')
    .option('--json', 'NDJSON')
    .action(async (opts) => (await commands.scripts()).scriptsListCommand(opts, io));
  describeCommand(scripts.commands.at(-1)!, {
    examples: ['usrun scripts list', 'usrun scripts list --json'],
    env: DB_ENV,
  });
  withDb(scripts.command('show'))
    .argument('<name[@version]>', 'script name, and a version (default: the newest)')
    .description("a saved script's text on stdout (what it is on stderr)")
    .option('--json', 'one JSON object with the text and what it is')
    .action(async (ref, opts) => (await commands.scripts()).scriptsShowCommand(ref, opts, io));
  describeCommand(scripts.commands.at(-1)!, {
    examples: ['usrun scripts show normalise-emails', 'usrun scripts show normalise-emails@1 > v1.js'],
    env: DB_ENV,
  });
  withDb(scripts.command('diff'))
    .argument('<name>', 'script name')
    .argument('<v1>', 'version', positiveInt('v1'))
    .argument('<v2>', 'version', positiveInt('v2'))
    .description('a unified diff from version V1 of a script to version V2')
    .action(
      async (name, v1, v2, opts) =>
        void (await (await commands.scripts()).scriptsDiffCommand(name, v1, v2, opts, io)),
    );
  describeCommand(scripts.commands.at(-1)!, {
    examples: ['usrun scripts diff normalise-emails 1 2'],
    env: DB_ENV,
  });
  withDb(scripts.command('rm'))
    .argument('<name>', 'script name')
    .description('remove a script (every version) from the library; runs that ran it keep it in the journal')
    .action(async (name, opts) => (await commands.scripts()).scriptsRmCommand(name, opts, io));
  describeCommand(scripts.commands.at(-1)!, { examples: ['usrun scripts rm normalise-emails'], env: DB_ENV });

  program
    .command('types')
    .description(
      'write TypeScript declarations of the script globals (user, row, params, console, skip) for an editor',
    )
    .option('--out <file>', 'write them to FILE (default: stdout)')
    .action(async (opts) => void (await commands.types()).typesCommand(opts, io));
  describeCommand(program.commands.at(-1)!, {
    notes: `Then, in the script's folder, a tsconfig.json (or jsconfig.json with "checkJs": true) that
includes usrun-script.d.ts, and the editor knows user, its fields and methods.`,
    examples: ['usrun types --out usrun-script.d.ts'],
  });

  const run = withDb(program.command('run'))
    .argument(
      '[script]',
      'script file (.js; .ts: types stripped; .py: Python), @NAME[@VERSION] from the library, or - for stdin (JavaScript): run once per user',
    )
    .description('run a script for each selected user, in a sandbox, committing user by user')
    .option('--filter <expr>', 'pick users by SCIM filter, or @name of a saved filter')
    .option('--csv <file>', 'pick users by the rows of a CSV file (one run per row; `row` in the script)')
    .option('--all', 'pick every user')
    .option(
      '--match <column>',
      'CSV column that identifies the user (default: obj_id, username, email or external_id)',
    )
    .option('--delimiter <char>', 'CSV delimiter: , ; tab | (default: detected)', parseDelimiter)
    .option('--limit <n>', 'at most N users or rows', positiveInt('--limit'))
    .option('--param <key=value>', 'value for params.key in the script (repeatable)', collectParam)
    .option('--dry-run', "run everything, write nothing, print each changed user's diff")
    .option('--json', 'NDJSON on stdout: one object per user/row, then a summary')
    .option(
      '--timeout <ms>',
      "time a user's script may run, in ms (wall clock while its code runs)",
      positiveInt('--timeout'),
      2000,
    )
    .option(
      '--memory <mb>',
      'sandbox memory limit (a .py script gets half for the Python heap, half for the JS heap)',
      positiveInt('--memory'),
      128,
    )
    .option('--max-log-lines <n>', 'console lines kept per user', positiveInt('--max-log-lines'), 50)
    .option('--max-errors <n>', 'stop after N failed users', positiveInt('--max-errors'))
    .option(
      '--concurrency <n>',
      'transactions in flight on a PostgreSQL/MySQL database (default 4; SQLite has one writer)',
      positiveInt('--concurrency'),
    )
    .option('--fail-fast', 'stop at the first failed user (= --max-errors 1)')
    .option('--key-file <path>', 'file with the 32-byte attribute key (default: $USRUN_KEY)')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .option('-v, --verbose', "print each changed user's diff on a real run too")
    .option(
      '--resume <run_id>',
      'continue an interrupted run (same script and selection), skipping users already done',
      positiveInt('--resume'),
    )
    .option(
      '--join <run_id>',
      'work on a run another process started (PostgreSQL, MariaDB/MySQL): claim its chunks until all are done',
      positiveInt('--join'),
    )
    .option(
      '--chunk-size <n>',
      'on a server database, users (or CSV rows) per chunk that workers claim (default: a 40th of the selection, 10 to 1000)',
      positiveInt('--chunk-size'),
    )
    .option(
      '--lease <seconds>',
      "how long this worker's claim on a chunk lasts unless renewed; a dead worker's chunks are taken over after it (default 30)",
      positiveInt('--lease'),
    )
    .option('--force', 'with --resume or --join: go on even though the script or CSV file changed')
    .option(
      '--failed-of <run_id>',
      "a new run over the users of that run's failed items (script: the one given, else that run's)",
      positiveInt('--failed-of'),
    )
    .action(async (script, opts) => {
      // Loaded on demand: only `run` needs the sandbox (isolated-vm); other commands start faster.
      const { runCommand } = await import('./commands/run.js');
      exitWith((await runCommand(script, opts, io)).exitCode);
    });
  describeCommand(run, {
    notes: `The script sees: user (alias obj), row (CSV row or null), params, console, skip(reason).
A .py script runs as Python (MicroPython, same sandbox): print() for console.log,
keyword arguments for the object form, e.g. user.profile_add(short_name='aaa-01').
Exit codes: 0 all changed/unchanged/skipped, 1 some failed or not found (or "no" at the [y/N]
prompt), 2 bad usage or input (nothing written), 3 interrupted (resumable), 130 Ctrl-C at the
prompt.
Scale-out (PostgreSQL, MariaDB/MySQL): a run is split into chunks; more processes or machines
join it (--join RUN_ID) and share them. A worker killed outright leaves its chunks to the others
once its lease runs out; runs show lists the workers.`,
    examples: [
      `usrun run scripts-examples/deactivate-idle-users.js --filter 'is_active eq true and last_login lt "-90d"' --dry-run`,
      'usrun run scripts-examples/session-timeout-from-csv.js --csv scripts-examples/timeouts.csv --yes',
      `usrun run scripts-examples/move-profile.js --filter 'profiles[short_name eq "aaa-01"]' --param from=aaa-01 --param to=aaa-02`,
      "usrun run @normalise-emails@2 --filter 'email pr' --dry-run",
      "echo 'user.is_active = false' | usrun run - --filter 'username eq \"bob\"'",
      'usrun run --resume 12',
      'usrun run --failed-of 12 --yes',
      'usrun run --join 7 --db postgres://usrun@db.example.net/radius',
    ],
    env: ['USRUN_DB', 'USRUN_KEY', 'NO_COLOR'],
    filter: true,
  });

  const runs = program.command('runs').description('the journal: list, inspect and undo runs');
  withDb(runs.command('list'))
    .description('runs, newest first, with status and counts')
    .option('--limit <n>', 'at most N runs (default 50)', positiveInt('--limit'))
    .option('--json', 'one JSON object per run')
    .action(async (opts) => (await commands.runs()).runsListCommand(opts, io));
  describeCommand(runs.commands.at(-1)!, {
    examples: ['usrun runs list', 'usrun runs list --limit 10 --json'],
    env: DB_ENV,
  });
  withDb(runs.command('show'))
    .argument('<run_id>', 'run id', positiveInt('run id'))
    .description(
      'a run: failures, skips and calls with no effect grouped by message, then its changed items (a page at a time)',
    )
    .option(
      '--status <status>',
      'list the items with this status one by one (changed, unchanged, skipped, failed, not_found)',
    )
    .option('--limit <n>', 'at most N items (default 50; with --json: all)', positiveInt('--limit'))
    .option('--offset <n>', 'skip the first N items', nonNegativeInt('--offset'))
    .option('--page <n>', 'page N of --limit items (1 is the first)', positiveInt('--page'))
    .option('--script', 'print the script text that ran, and nothing else')
    .option('--json', 'NDJSON: the run, then one object per item')
    .action(async (runId, opts) => (await commands.runs()).runsShowCommand(runId, opts, io));
  describeCommand(runs.commands.at(-1)!, {
    examples: [
      'usrun runs show 12',
      'usrun runs show 12 --status failed --limit 20 --page 2',
      'usrun runs show 12 --script > what-ran.js',
      'usrun runs show 12 --json',
    ],
    env: DB_ENV,
  });
  withDb(runs.command('export'))
    .argument('<run_id>', 'run id', positiveInt('run id'))
    .description('the items of a run as CSV: user, status, message, location, changes, notes (one row each)')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--status <status>', 'only items with this status')
    .action(async (runId, opts) => (await commands.runs()).runsExportCommand(runId, opts, io));
  describeCommand(runs.commands.at(-1)!, {
    examples: ['usrun runs export 12 --out run-12.csv', 'usrun runs export 12 --status failed'],
    env: DB_ENV,
  });
  withDb(runs.command('undo'))
    .argument('<run_id>', 'run id', positiveInt('run id'))
    .description('restore the before values of every change a run made, user by user (itself a run)')
    .option('--dry-run', 'show what would be restored, write nothing')
    .option('--force', 'also undo users changed again since the run (overwrites those later changes)')
    .option('--json', 'NDJSON: one object per user, then a summary')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .action(async (runId, opts) => exitWith(await (await commands.runs()).runsUndoCommand(runId, opts, io)));
  describeCommand(runs.commands.at(-1)!, {
    notes: 'Exit codes as for run: "no" at the [y/N] prompt exits 1, Ctrl-C there 130, nothing written.',
    examples: ['usrun runs undo 12 --dry-run', 'usrun runs undo 12', 'usrun runs undo 12 --force --yes'],
    env: DB_ENV,
  });

  const radius = program
    .command('radius')
    .description('FreeRADIUS: configuration for reading this database live, import of its tables');
  withDb(radius.command('config'))
    .description('print the FreeRADIUS sql module configuration for this database')
    .option('--login <name>', "database login FreeRADIUS connects as (default: the URL's)")
    .action(async (opts) => (await commands.radius()).radiusConfigCommand(opts, io));
  describeCommand(radius.commands.at(-1)!, {
    notes: `The password of a server database is never printed: the module reads it from
mods-config/sql/password under the FreeRADIUS directory (password = "…"), when that file exists.`,
    examples: [
      'usrun radius config --db /var/lib/usrun/users.db > /etc/freeradius/3.0/mods-available/sql',
      'ln -s ../mods-available/sql /etc/freeradius/3.0/mods-enabled/sql',
      'usrun radius config --db postgres://usrun@db.example.net/radius --login freerad > sql',
    ],
    env: ['USRUN_DB'],
  });
  withDb(radius.command('import'))
    .description(
      'adopt an existing FreeRADIUS database: a user per username, a profile per groupname, memberships and attribute rows, as a journaled run (`runs undo` takes it back; running it again changes nothing)',
    )
    .requiredOption('--from <file|url>', "FreeRADIUS's database: a SQLite file or a server URL")
    .option('--dry-run', "print each profile's and user's diff, write nothing")
    .option('-v, --verbose', "print each changed item's diff on a real import too")
    .option('--json', 'NDJSON on stdout: one object per profile or user, then a summary')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .action(async (opts) => exitWith(await (await commands.radius()).radiusImportCommand(opts, io)));
  describeCommand(radius.commands.at(-1)!, {
    notes: `Reads radcheck, radreply, radusergroup, radgroupcheck and radgroupreply (cleartext passwords stay
check attributes; diffs show them as <hidden>). Everything is checked first: a problem writes
nothing (exit 2). Then one item per groupname, one per username, in the journal like a run:
\`usrun runs show RUN_ID\`, \`usrun runs undo RUN_ID\` (deletes the users and profiles it created).`,
    examples: [
      'usrun radius import --from /etc/freeradius/3.0/sqlite/radius.db --dry-run',
      'usrun radius import --from /etc/freeradius/3.0/sqlite/radius.db',
      'usrun runs undo 7',
    ],
    env: DB_ENV,
  });

  const attrs = program.command('attrs').description('user attrs (key/value with expiry)');
  withDb(attrs.command('purge'))
    .description('delete expired attrs')
    .option('--json', 'print the count as JSON')
    .action(async (opts) => (await commands.attrs()).attrsPurgeCommand(opts, io));
  describeCommand(attrs.commands.at(-1)!, {
    examples: ['usrun attrs purge', 'usrun attrs purge --json'],
    env: DB_ENV,
  });

  describeCommand(
    program
      .command('completion')
      .argument('<shell>', 'bash, zsh or fish')
      .description('print a shell completion script for usrun (commands, subcommands, options)')
      .action(async (shell: string) => {
        const { completionScript } = await import('./completion-script.js');
        io.out(completionScript(program, shell));
      }),
    {
      examples: [
        'source <(usrun completion bash)',
        'usrun completion bash > /etc/bash_completion.d/usrun',
        'usrun completion zsh > "${fpath[1]}/_usrun"',
        'usrun completion fish > ~/.config/fish/completions/usrun.fish',
      ],
    },
  );

  // `usrun help users list` shows `users list`'s help (commander's own stops at `users`).
  describeCommand(
    program
      .command('help')
      .argument('[command...]', 'a command, e.g. users list')
      .description('show the help of a command')
      .action((words: string[]) => {
        let command: Command = program;
        for (const word of words) {
          const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
          if (!sub)
            throw new UsageError(
              `no command "${[...words.slice(0, words.indexOf(word)), word].join(' ')}": see \`usrun --help\``,
            );
          command = sub;
        }
        command.outputHelp();
      }),
    { examples: ['usrun help', 'usrun help users list'] },
  );

  return program;
}
