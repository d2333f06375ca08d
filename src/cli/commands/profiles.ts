import { UsageError } from '../../errors.js';
import type { RadiusRow } from '../../model/change.js';
import { PROFILE_SHORT_NAME } from '../../model/profile-short-name.js';
import { checkRadiusRow, RejectedChange } from '../../run/plan-user-changes.js';
import { addRadiusRow, type RadiusEdit, removeRadiusRows } from '../../run/radius-row-edits.js';
import type { StoreDriver } from '../../store/driver.js';
import type { ItemResult } from '../../model/item-result.js';
import type { PlannedItem } from '../../run/commit-items.js';
import { commitPlanned } from '../../run/commit-planned.js';
import { listSource } from '../../run/list-source.js';
import { RunControl } from '../../run/run-control.js';
import type { Reader } from '../../store/load-users.js';
import { loadProfileAttributes } from '../../store/profile-attributes.js';
import { planProfileEdit } from '../../run/plan-profile-edit.js';
import { insertReturningId } from '../../store/insert-returning-id.js';
import { usingStore } from '../../store/using-store.js';
import { changeToJson, formatChangeLines } from '../format-change.js';
import { formatTable } from '../format-table.js';
import type { Io } from '../io.js';

const SHORT_NAME = PROFILE_SHORT_NAME;

/** `usrun profiles list`: every profile with its member count. */
export async function profilesListCommand(options: { db?: string; json?: boolean }, io: Io): Promise<void> {
  await usingStore({ location: options.db, readOnly: true }, async (store) => {
    const rows = await store.db
      .selectFrom('profiles as p')
      .leftJoin('user_profiles as up', 'up.profile_id', 'p.id')
      .select((eb) => [
        'p.id',
        'p.short_name',
        'p.name',
        'p.description',
        eb.fn.count<number>('up.user_id').as('members'),
      ])
      .groupBy(['p.id', 'p.short_name', 'p.name', 'p.description'])
      .orderBy('p.short_name')
      .execute();
    if (options.json) {
      for (const r of rows) io.out(`${JSON.stringify({ ...r, members: Number(r.members) })}\n`);
      return;
    }
    io.out(
      formatTable(
        ['ID', 'SHORT NAME', 'NAME', 'MEMBERS'],
        rows.map((r) => [String(r.id), r.short_name, r.name ?? '', String(r.members)]),
        io.color,
      ),
    );
  });
}

/** `usrun profiles add SHORT_NAME`: creates a profile (a RADIUS group). */
export async function profilesAddCommand(
  shortName: string,
  options: { db?: string; name?: string; description?: string },
  io: Io,
): Promise<void> {
  if (!SHORT_NAME.test(shortName)) {
    throw new UsageError(`invalid short name "${shortName}": use letters, digits, . _ - (at most 64)`);
  }
  await usingStore({ location: options.db }, async (store) => {
    const existing = await store.db
      .selectFrom('profiles')
      .select('id')
      .where('short_name', '=', shortName)
      .executeTakeFirst();
    if (existing) throw new UsageError(`profile ${shortName} already exists (id ${existing.id})`);
    const id = await insertReturningId(
      store,
      store.db.insertInto('profiles').values({
        short_name: shortName,
        name: options.name ?? shortName,
        description: options.description ?? null,
      }),
      'id',
    );
    io.out(`${io.color.green('✓')} profile ${shortName} added (id ${id})\n`);
  });
}

type ProfileRow = { id: number; short_name: string; name: string | null; description: string | null };

async function findProfile(store: StoreDriver, shortName: string): Promise<ProfileRow> {
  const profile = await store.db
    .selectFrom('profiles')
    .select(['id', 'short_name', 'name', 'description'])
    .where('short_name', '=', shortName)
    .executeTakeFirst();
  if (!profile) throw new UsageError(`no profile with short_name ${shortName} (see \`usrun profiles list\`)`);
  return profile;
}

/** `usrun profiles show SHORT_NAME`: a profile with its member count and reply/check attributes. */
export async function profilesShowCommand(
  shortName: string,
  options: { db?: string; json?: boolean },
  io: Io,
): Promise<void> {
  await usingStore({ location: options.db, readOnly: true }, async (store) => {
    const profile = await findProfile(store, shortName);
    const members = await store.query<{ n: number }>(
      'SELECT count(*) AS n FROM user_profiles WHERE profile_id = ?',
      [profile.id],
    );
    const own = (await loadProfileAttributes(store)).get(profile.id) ?? {
      attributes: [],
      check_attributes: [],
    };
    const strip = (rows: readonly RadiusRow[]) => rows.map(({ attr, op, value }) => ({ attr, op, value }));
    if (options.json) {
      io.out(
        `${JSON.stringify({
          ...profile,
          members: Number(members[0]?.n ?? 0),
          attributes: strip(own.attributes),
          check_attributes: strip(own.check_attributes),
        })}\n`,
      );
      return;
    }
    const c = io.color;
    io.out(`${c.bold(profile.short_name)} ${c.dim(`(id ${profile.id})`)}\n`);
    io.out(`  ${'name'.padEnd(12)} ${profile.name ?? c.dim('null')}\n`);
    io.out(`  ${'description'.padEnd(12)} ${profile.description ?? c.dim('null')}\n`);
    io.out(`  ${'members'.padEnd(12)} ${Number(members[0]?.n ?? 0)}\n`);
    for (const [title, rows] of [
      ['reply attributes (radgroupreply)', own.attributes],
      ['check attributes (radgroupcheck)', own.check_attributes],
    ] as const) {
      io.out(`${c.bold(title)}\n`);
      if (rows.length === 0) io.out(`  ${c.dim('(none)')}\n`);
      for (const r of rows) io.out(`  ${r.attr} ${r.op} ${r.value}\n`);
    }
  });
}

export interface ProfileAttrOptions {
  db?: string;
  check?: boolean;
  json?: boolean;
  dryRun?: boolean;
}

/**
 * A profile's reply or check rows edited as a journaled run of kind `profiles`: one item, the
 * profile, with a `group_reply`/`group_check` change per row added, changed or removed, through
 * the one commit path (`runs undo` takes it back). The edit is planned inside the run, from the
 * rows as they are then. Prints what happened; the diff on a dry run.
 */
async function editProfileRows(
  shortName: string,
  command: string,
  options: ProfileAttrOptions,
  io: Io,
  edit: (label: string, rows: readonly RadiusRow[]) => RadiusEdit,
): Promise<number> {
  const kind = options.check ? 'check' : 'reply';
  const dryRun = options.dryRun ?? false;
  return usingStore({ location: options.db }, async (store) => {
    await findProfile(store, shortName);
    let outcome: RadiusEdit | null = null;
    let item: ItemResult | null = null;
    const control = new RunControl();
    const step = async (reader: Reader): Promise<PlannedItem> => {
      const { planned, outcome: edited } = await planProfileEdit(reader, shortName, kind, edit);
      outcome = edited;
      return planned;
    };
    const { runId, counts } = await commitPlanned(store, {
      run: {
        kind: 'profiles',
        scriptPath: shortName,
        scriptText: `usrun profiles attr ${command}${options.check ? ' --check' : ''}`,
        selection: { profile: shortName },
        params: {},
      },
      dryRun,
      source: (reader) => listSource([() => step(reader)], control),
      control,
      onItem: (done) => void (item = done),
    });
    const result = outcome as RadiusEdit | null;
    const done = item as ItemResult | null;
    const message = done?.error?.message ?? result?.message ?? '';
    const changes = done?.changes ?? [];
    if (options.json) {
      io.out(
        `${JSON.stringify({ profile: shortName, updated: done?.status === 'changed', message, run_id: runId, dry_run: dryRun, changes: changes.map(changeToJson) })}\n`,
      );
    } else {
      const mark =
        done?.status === 'failed' ? io.color.red('✗') : result?.updated ? io.color.green('✓') : '·';
      const run =
        runId !== null
          ? io.color.dim(` (run ${runId})`)
          : dryRun
            ? io.color.dim(' (dry run, nothing written)')
            : '';
      io.out(`${mark} profile ${shortName}: ${message}${run}\n`);
      if (dryRun) for (const c of changes) for (const line of formatChangeLines(c)) io.out(`  ${line}\n`);
    }
    return counts.failed > 0 ? 1 : 0;
  });
}

/**
 * `usrun profiles attr add SHORT_NAME ATTR OP VALUE [--check]`: a reply (radgroupreply) or check
 * (radgroupcheck) row for the profile, with the operators and semantics of the script's
 * `attribute_add` / `check_attribute_add`.
 */
export async function profilesAttrAddCommand(
  shortName: string,
  attr: string,
  op: string,
  value: string,
  options: ProfileAttrOptions,
  io: Io,
): Promise<number> {
  const kind = options.check ? 'check' : 'reply';
  try {
    checkRadiusRow(kind, { id: null, attr, op, value });
  } catch (error) {
    if (error instanceof RejectedChange) throw new UsageError(`profile ${shortName}: ${error.message}`);
    throw error;
  }
  return editProfileRows(shortName, `add ${shortName} ${attr} ${op} ${value}`, options, io, (label, rows) =>
    addRadiusRow(label, rows, { attr, op, value }),
  );
}

/** `usrun profiles attr rm SHORT_NAME ATTR VALUE [--op OP] [--check]`: removes matching rows. */
export async function profilesAttrRmCommand(
  shortName: string,
  attr: string,
  value: string,
  options: ProfileAttrOptions & { op?: string },
  io: Io,
): Promise<number> {
  const op = options.op !== undefined ? ` --op ${options.op}` : '';
  return editProfileRows(shortName, `rm ${shortName} ${attr} ${value}${op}`, options, io, (label, rows) =>
    removeRadiusRows(label, rows, { attr, value, op: options.op }),
  );
}
