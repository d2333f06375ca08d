import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import type { FreeradiusTables } from '../../model/freeradius-tables.js';
import { planRadiusImport } from '../../run/plan-radius-import.js';
import { freeradiusSqlConfig } from '../../store/freeradius-sql-config.js';
import { commitPlanned } from '../../run/commit-planned.js';
import { listSource } from '../../run/list-source.js';
import { radiusImportSteps } from '../../run/radius-import-steps.js';
import { reportJournaled } from '../report-journaled.js';
import { readFreeradiusTables } from '../../store/read-freeradius-tables.js';
import { readImportTarget } from '../../store/read-import-target.js';
import { openStore, resolveLocation, usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';

/**
 * `usrun radius config`: prints the FreeRADIUS `sql` module for the current database, which must
 * be a current usrun database (the views come with `usrun init`). A server URL is printed
 * without its password; `--login` names the database login FreeRADIUS uses instead of the URL's.
 */
export async function radiusConfigCommand(options: { db?: string; login?: string }, io: Io): Promise<void> {
  const location = resolveLocation(options.db);
  await usingStore({ location, readOnly: true }, async () => undefined);
  io.out(freeradiusSqlConfig(location, { login: options.login }));
}

export interface RadiusImportOptions {
  db?: string;
  from: string;
  dryRun?: boolean;
  verbose?: boolean;
  json?: boolean;
  yes?: boolean;
}

/** What the source is, for the journal: the file's bytes, or (a server) the rows read. */
function sourceSha256(from: string, tables: FreeradiusTables): string {
  const hash = createHash('sha256');
  if (isUrl(from)) hash.update(JSON.stringify(tables));
  else hash.update(readFileSync(from));
  return hash.digest('hex');
}

const isUrl = (location: string) => /^[a-z]+:\/\//.test(location);

/**
 * `usrun radius import --from FILE|URL`: adopts an existing FreeRADIUS database (radcheck,
 * radreply, radusergroup, radgroupcheck, radgroupreply) into this directory as a journaled run
 * of kind `radius-import`: everything is checked first (a problem writes nothing), then one item
 * per groupname and one per username go through the one commit path, so `runs undo` takes it
 * back. `--dry-run` prints each item's diff and writes nothing. Importing the same tables again
 * finds everything present: every item `unchanged`.
 */
export async function radiusImportCommand(options: RadiusImportOptions, io: Io): Promise<number> {
  // A missing file is not "a usrun database to init" (openStore's words): say what it is.
  if (!isUrl(options.from) && !existsSync(options.from)) {
    throw new UsageError(`no FreeRADIUS database at ${options.from}: no such file`);
  }
  const source = await openStore({ location: options.from, readOnly: true });
  // As the driver shows it: a server URL without its password, which the journal never holds.
  const from = source.location;
  let tables: FreeradiusTables;
  try {
    tables = await readFreeradiusTables(source);
  } finally {
    await source.close();
  }
  return usingStore({ location: options.db }, async (store) => {
    const target = await readImportTarget(store, tables);
    const plan = planRadiusImport(tables, target);
    if (plan.problems.length > 0) {
      const shown = plan.problems.slice(0, 20).map((p) => `  ${p}`);
      const more = plan.problems.length > 20 ? [`  … and ${plan.problems.length - 20} more`] : [];
      throw new UsageError(
        `cannot import ${options.from}, nothing was written:\n${[...shown, ...more].join('\n')}`,
      );
    }
    const dryRun = options.dryRun ?? false;
    const now = new Date().toISOString();
    // Count the items the same way the steps list them (one per groupname, one per username).
    const total =
      new Set([
        ...tables.radusergroup.map((m) => m.groupname),
        ...tables.radgroupcheck.map((r) => r.key),
        ...tables.radgroupreply.map((r) => r.key),
      ]).size +
      new Set([
        ...tables.radcheck.map((r) => r.key),
        ...tables.radreply.map((r) => r.key),
        ...tables.radusergroup.map((m) => m.username),
      ]).size;
    const { exitCode } = await reportJournaled(
      io,
      {
        dryRun,
        json: options.json ?? false,
        yes: options.yes ?? false,
        verbose: options.verbose ?? false,
        total,
        question: `About to change up to ${total} users and profiles in ${store.location} from ${from}. Continue? [y/N] `,
        again: `usrun radius import --from ${from}${options.db ? ` --db ${options.db}` : ''}`,
      },
      (control, onItem) =>
        commitPlanned(store, {
          run: {
            kind: 'radius-import',
            scriptPath: from,
            scriptText: `usrun radius import --from ${from}`,
            selection: { from, sha256: sourceSha256(options.from, tables), missing_tables: tables.missing },
            params: {},
          },
          dryRun,
          source: (reader) => listSource(radiusImportSteps(tables, plan, target, reader, now), control),
          control,
          onItem,
        }),
    );
    if (!options.json) {
      const userRows = plan.rows.filter((r) => r.owner === 'user').length;
      const verb = dryRun ? 'would import' : 'imported';
      const missing = tables.missing.length > 0 ? ` (no ${tables.missing.join(', ')} in the source)` : '';
      io.out(
        `${verb} ${from}: ${plan.users.length} users, ${plan.profiles.length} profiles, ` +
          `${plan.memberships.length} memberships, ${userRows} user and ${plan.rows.length - userRows} profile ` +
          `attribute rows; ${plan.present} already present${missing}\n`,
      );
    }
    return exitCode;
  });
}
