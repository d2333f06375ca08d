import { existsSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import type { FreeradiusTables } from '../../model/freeradius-tables.js';
import type { RadiusImportPlan } from '../../model/radius-import-plan.js';
import { planRadiusImport } from '../../run/plan-radius-import.js';
import { freeradiusSqlConfig } from '../../store/freeradius-sql-config.js';
import { radiusImportStatements } from '../../store/radius-import-statements.js';
import { readFreeradiusTables } from '../../store/read-freeradius-tables.js';
import { readImportTarget } from '../../store/read-import-target.js';
import { openStore, resolveLocation, usingStore } from '../../store/using-store.js';
import { writeAll } from '../../store/writer.js';
import type { Io } from '../io.js';

/**
 * `usrun radius config`: prints the FreeRADIUS `sql` module for the current database. A SQLite
 * file must be a current usrun database (the views come with `usrun init`); a server URL is
 * printed as given, without its password.
 */
export async function radiusConfigCommand(options: { db?: string }, io: Io): Promise<void> {
  const location = resolveLocation(options.db);
  if (!/^[a-z]+:\/\//.test(location)) await usingStore({ location }, async () => undefined);
  io.out(freeradiusSqlConfig(location));
}

export interface RadiusImportOptions {
  db?: string;
  from: string;
  dryRun?: boolean;
  verbose?: boolean;
  json?: boolean;
}

const shownValue = (attr: string, value: string) => (/password/i.test(attr) ? '<hidden>' : value);

function describePlan(plan: RadiusImportPlan): string[] {
  return [
    ...plan.users.map((u) => `+ user ${u}`),
    ...plan.profiles.map((p) => `+ profile ${p}`),
    ...plan.memberships.map((m) =>
      m.before === null
        ? `+ ${m.username} in profile ${m.groupname} (priority ${m.priority})`
        : `~ ${m.username} in profile ${m.groupname}: priority ${m.before} → ${m.priority}`,
    ),
    ...plan.rows.map(
      (r) =>
        `+ ${r.owner === 'user' ? r.key : `profile ${r.key}`} ${r.kind} ${r.attr} ${r.op} ${shownValue(r.attr, r.value)}`,
    ),
  ];
}

/**
 * `usrun radius import --from FILE|URL`: adopts an existing FreeRADIUS database (radcheck,
 * radreply, radusergroup, radgroupcheck, radgroupreply) into this directory, in one
 * all-or-nothing transaction; `--dry-run` lists what it would create and writes nothing.
 * Importing the same tables again finds everything present and writes nothing.
 */
export async function radiusImportCommand(options: RadiusImportOptions, io: Io): Promise<RadiusImportPlan> {
  // A missing file is not "a usrun database to init" (openStore's words): say what it is.
  if (!/^[a-z]+:\/\//.test(options.from) && !existsSync(options.from)) {
    throw new UsageError(`no FreeRADIUS database at ${options.from}: no such file`);
  }
  const source = await openStore({ location: options.from });
  let tables: FreeradiusTables;
  try {
    tables = await readFreeradiusTables(source);
  } finally {
    await source.close();
  }
  return usingStore({ location: options.db }, async (store) => {
    const plan = planRadiusImport(tables, await readImportTarget(store, tables));
    if (plan.problems.length > 0) {
      const shown = plan.problems.slice(0, 20).map((p) => `  ${p}`);
      const more = plan.problems.length > 20 ? [`  … and ${plan.problems.length - 20} more`] : [];
      throw new UsageError(
        `cannot import ${options.from}, nothing was written:\n${[...shown, ...more].join('\n')}`,
      );
    }
    const statements = radiusImportStatements(plan, new Date().toISOString());
    if (!options.dryRun && statements.length > 0) await writeAll(store, statements);
    const userRows = plan.rows.filter((r) => r.owner === 'user').length;
    const counts = {
      users: plan.users.length,
      profiles: plan.profiles.length,
      memberships: plan.memberships.length,
      user_rows: userRows,
      profile_rows: plan.rows.length - userRows,
      present: plan.present,
    };
    if (options.json) {
      io.out(
        `${JSON.stringify({ ...counts, missing_tables: tables.missing, dry_run: options.dryRun ?? false })}\n`,
      );
      return plan;
    }
    if (options.dryRun || options.verbose) for (const line of describePlan(plan)) io.out(`${line}\n`);
    const verb = options.dryRun ? 'would import' : 'imported';
    const missing = tables.missing.length > 0 ? ` (no ${tables.missing.join(', ')} in the source)` : '';
    io.out(
      `${verb} ${options.from}: ${counts.users} users, ${counts.profiles} profiles, ` +
        `${counts.memberships} memberships, ${counts.user_rows} user and ${counts.profile_rows} profile ` +
        `attribute rows; ${counts.present} already present${missing}\n`,
    );
    return plan;
  });
}
