import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ExitError } from '../errors.js';
import type { Io } from './io.js';
import { collectParam, parseDelimiter, positiveInt } from './options.js';

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
  users: () => import('./commands/users.js'),
};

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const DB_HELP = 'SQLite database file (default: $USRUN_DB or ./usrun.db)';

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
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  $ usrun init --demo 1000
  $ usrun users list --filter 'last_login lt "-90d" and is_active eq true'
  $ usrun run scripts-examples/deactivate-idle-users.js --filter 'is_active eq true' --dry-run
  $ usrun run set-timeouts.js --csv timeouts.csv --yes
  $ usrun runs undo 12`,
  );

  withDb(program.command('init'))
    .description('create or upgrade the database schema')
    .option('--demo <n>', 'also add N generated demo users and a few profiles', positiveInt('--demo'))
    .action(async (opts) => (await commands.init()).initCommand(opts, io));

  const users = program.command('users').description('list, show and import users');
  withDb(users.command('list'))
    .description('list users, optionally matching a filter')
    .option('--filter <expr>', 'SCIM filter expression, or @name of a saved filter')
    .option('--limit <n>', 'at most N users', positiveInt('--limit'))
    .option('--json', 'one JSON object per user (NDJSON)')
    .action(async (opts) => void (await (await commands.users()).usersListCommand(opts, io)));
  withDb(users.command('show'))
    .argument('<user>', 'obj_id or username')
    .description('show one user with profiles, reply/check attributes and attrs')
    .option('--json', 'as JSON')
    .action(async (key, opts) => (await commands.users()).usersShowCommand(key, opts, io));
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
    .addHelpText(
      'after',
      `
Every row is checked first: a bad file writes nothing (exit 2). Then each row is one item of a
run in the journal (\`usrun runs show\`); \`usrun runs undo RUN_ID\` deletes the users it created
and restores the fields it changed. Importing the same file again changes nothing.`,
    )
    .action(async (file, opts) =>
      exitWith(await (await commands.users()).usersImportCommand(file, opts, io)),
    );

  const profiles = program
    .command('profiles')
    .description('list, show and add profiles (RADIUS groups) and their attributes');
  withDb(profiles.command('list'))
    .description('list profiles with their member counts')
    .option('--json', 'one JSON object per profile')
    .action(async (opts) => (await commands.profiles()).profilesListCommand(opts, io));
  withDb(profiles.command('add'))
    .argument('<short_name>', 'unique short name, e.g. aaa-01')
    .description('add a profile')
    .option('--name <name>', 'display name')
    .option('--description <text>', 'description')
    .action(async (shortName, opts) => (await commands.profiles()).profilesAddCommand(shortName, opts, io));
  withDb(profiles.command('show'))
    .argument('<short_name>', 'the profile')
    .description('show a profile with its member count and its reply and check attributes')
    .option('--json', 'as JSON')
    .action(async (shortName, opts) => (await commands.profiles()).profilesShowCommand(shortName, opts, io));
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
    .addHelpText(
      'after',
      `
A journaled run (kind profiles): \`usrun runs undo RUN_ID\` takes it back.

Examples:
  $ usrun profiles attr add gold Session-Timeout := 7200
  $ usrun profiles attr add gold Simultaneous-Use := 2 --check`,
    )
    .action(async (shortName, attr, op, value, opts) =>
      exitWith(
        await (await commands.profiles()).profilesAttrAddCommand(shortName, attr, op, value, opts, io),
      ),
    );
  withDb(profileAttr.command('rm'))
    .argument('<short_name>', 'the profile')
    .argument('<attr>', 'attribute name')
    .argument('<value>', 'the value of the rows to remove')
    .description('remove the reply (default) or check rows with this attribute and value')
    .option('--op <op>', 'only rows with this operator')
    .option('--check', 'check attributes instead of reply attributes')
    .option('--dry-run', 'print the diff, write nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nA journaled run (kind profiles): `usrun runs undo RUN_ID` takes it back.\n\nExample:\n  $ usrun profiles attr rm gold Session-Timeout 7200',
    )
    .action(async (shortName, attr, value, opts) =>
      exitWith(await (await commands.profiles()).profilesAttrRmCommand(shortName, attr, value, opts, io)),
    );

  const filters = program
    .command('filters')
    .description('save, list and remove named filters (use them as --filter @name)');
  withDb(filters.command('save'))
    .argument('<name>', 'filter name')
    .argument('<expr>', 'SCIM filter expression')
    .description('check and save a filter expression under a name')
    .action(async (name, expr, opts) => (await commands.filters()).filtersSaveCommand(name, expr, opts, io));
  withDb(filters.command('list'))
    .description('list saved filters')
    .option('--json', 'NDJSON')
    .action(async (opts) => (await commands.filters()).filtersListCommand(opts, io));
  withDb(filters.command('rm'))
    .argument('<name>', 'filter name')
    .description('remove a saved filter')
    .action(async (name, opts) => (await commands.filters()).filtersRmCommand(name, opts, io));

  withDb(program.command('run'))
    .argument('[script]', 'JavaScript file: the body of a function run once per user')
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
    .option('--timeout <ms>', 'CPU time per user', positiveInt('--timeout'), 2000)
    .option('--memory <mb>', 'sandbox heap limit', positiveInt('--memory'), 128)
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
      'on a server database, users (or CSV rows) per chunk that workers claim (default 1000)',
      positiveInt('--chunk-size'),
    )
    .option(
      '--lease <seconds>',
      "how long this worker's claim on a chunk lasts unless renewed; a dead worker's chunks are taken over after it (default 30)",
      positiveInt('--lease'),
    )
    .option('--force', 'with --resume or --join: go on even though the script or CSV file changed')
    .addHelpText(
      'after',
      `
The script sees: user (alias obj), row (CSV row or null), params, console, skip(reason).
Exit codes: 0 all changed/unchanged/skipped, 1 some failed or not found, 2 bad usage or input
(nothing written), 3 interrupted (resumable).

Scale-out (PostgreSQL, MariaDB/MySQL): a run is split into chunks; more processes or machines
join it and share them. A worker killed outright leaves its chunks to the others once its lease
runs out.
  $ usrun run heavy.js --all --db postgres://db/radius --yes        # prints: run 7 …
  $ usrun run --join 7 --db postgres://db/radius                    # on another machine
  $ usrun runs show 7 --db postgres://db/radius                     # lists the workers`,
    )
    .action(async (script, opts) => {
      // Loaded on demand: only `run` needs the sandbox (isolated-vm); other commands start faster.
      const { runCommand } = await import('./commands/run.js');
      exitWith((await runCommand(script, opts, io)).exitCode);
    });

  const runs = program.command('runs').description('the journal: list, inspect and undo runs');
  withDb(runs.command('list'))
    .description('runs, newest first, with status and counts')
    .option('--limit <n>', 'at most N runs (default 50)', positiveInt('--limit'))
    .option('--json', 'one JSON object per run')
    .action(async (opts) => (await commands.runs()).runsListCommand(opts, io));
  withDb(runs.command('show'))
    .argument('<run_id>', 'run id', positiveInt('run id'))
    .description('a run with its items, changes (before → after), logs and errors')
    .option(
      '--status <status>',
      'only items with this status (changed, unchanged, skipped, failed, not_found)',
    )
    .option('--json', 'NDJSON: the run, then one object per item')
    .action(async (runId, opts) => (await commands.runs()).runsShowCommand(runId, opts, io));
  withDb(runs.command('undo'))
    .argument('<run_id>', 'run id', positiveInt('run id'))
    .description('restore the before values of every change a run made, user by user (itself a run)')
    .option('--dry-run', 'show what would be restored, write nothing')
    .option('--force', 'also undo users changed again since the run (overwrites those later changes)')
    .option('--json', 'NDJSON: one object per user, then a summary')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .action(async (runId, opts) => exitWith(await (await commands.runs()).runsUndoCommand(runId, opts, io)));

  const radius = program
    .command('radius')
    .description('FreeRADIUS: configuration for reading this database live, import of its tables');
  withDb(radius.command('config'))
    .description('print the FreeRADIUS sql module configuration for this database')
    .addHelpText(
      'after',
      `
Example:
  $ usrun radius config --db /var/lib/usrun/users.db > /etc/freeradius/3.0/mods-available/sql
  $ ln -s ../mods-available/sql /etc/freeradius/3.0/mods-enabled/sql`,
    )
    .action(async (opts) => (await commands.radius()).radiusConfigCommand(opts, io));
  withDb(radius.command('import'))
    .description(
      'adopt an existing FreeRADIUS database: a user per username, a profile per groupname, memberships and attribute rows, as a journaled run (`runs undo` takes it back; running it again changes nothing)',
    )
    .requiredOption('--from <file|url>', "FreeRADIUS's database: a SQLite file or a server URL")
    .option('--dry-run', "print each profile's and user's diff, write nothing")
    .option('-v, --verbose', "print each changed item's diff on a real import too")
    .option('--json', 'NDJSON on stdout: one object per profile or user, then a summary')
    .option('-y, --yes', 'do not ask for confirmation on a terminal')
    .addHelpText(
      'after',
      `
Reads radcheck, radreply, radusergroup, radgroupcheck and radgroupreply (cleartext passwords stay
check attributes; diffs show them as <hidden>). Everything is checked first: a problem writes
nothing (exit 2). Then one item per groupname, one per username, in the journal like a run:
\`usrun runs show RUN_ID\`, \`usrun runs undo RUN_ID\` (deletes the users and profiles it created).

Example:
  $ usrun radius import --from /etc/freeradius/3.0/sqlite/radius.db --dry-run
  $ usrun radius import --from /etc/freeradius/3.0/sqlite/radius.db
  $ usrun runs undo 7`,
    )
    .action(async (opts) => exitWith(await (await commands.radius()).radiusImportCommand(opts, io)));

  const attrs = program.command('attrs').description('user attrs (key/value with expiry)');
  withDb(attrs.command('purge'))
    .description('delete expired attrs')
    .option('--json', 'print the count as JSON')
    .action(async (opts) => (await commands.attrs()).attrsPurgeCommand(opts, io));

  return program;
}
