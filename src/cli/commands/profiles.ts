import { UsageError } from '../../errors.js';
import type { RadiusRow } from '../../model/change.js';
import { PROFILE_SHORT_NAME } from '../../model/profile-short-name.js';
import { checkRadiusRow, RejectedChange } from '../../run/plan-user-changes.js';
import { addRadiusRow, type RadiusEdit, removeRadiusRows } from '../../run/radius-row-edits.js';
import type { StoreDriver } from '../../store/driver.js';
import { loadProfileAttributes, profileRowStatements } from '../../store/profile-attributes.js';
import { insertReturningId } from '../../store/insert-returning-id.js';
import { usingStore } from '../../store/using-store.js';
import { writeAll } from '../../store/writer.js';
import { formatTable } from '../format-table.js';
import type { Io } from '../io.js';

const SHORT_NAME = PROFILE_SHORT_NAME;

/** `usrun profiles list`: every profile with its member count. */
export async function profilesListCommand(options: { db?: string; json?: boolean }, io: Io): Promise<void> {
  await usingStore({ location: options.db }, async (store) => {
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
  await usingStore({ location: options.db }, async (store) => {
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
}

async function editProfileRows(
  shortName: string,
  options: ProfileAttrOptions,
  io: Io,
  edit: (label: string, rows: readonly RadiusRow[]) => RadiusEdit,
): Promise<void> {
  const kind = options.check ? 'check' : 'reply';
  await usingStore({ location: options.db }, async (store) => {
    const profile = await findProfile(store, shortName);
    const own = (await loadProfileAttributes(store)).get(profile.id);
    const current = (kind === 'reply' ? own?.attributes : own?.check_attributes) ?? [];
    const result = edit(kind, current);
    if (result.updated) await writeAll(store, profileRowStatements(kind, profile.id, current, result.rows));
    if (options.json)
      io.out(`${JSON.stringify({ profile: shortName, updated: result.updated, message: result.message })}\n`);
    else io.out(`${result.updated ? io.color.green('✓') : '·'} profile ${shortName}: ${result.message}\n`);
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
): Promise<void> {
  const kind = options.check ? 'check' : 'reply';
  try {
    checkRadiusRow(kind, { id: null, attr, op, value });
  } catch (error) {
    if (error instanceof RejectedChange) throw new UsageError(`profile ${shortName}: ${error.message}`);
    throw error;
  }
  await editProfileRows(shortName, options, io, (label, rows) =>
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
): Promise<void> {
  await editProfileRows(shortName, options, io, (label, rows) =>
    removeRadiusRows(label, rows, { attr, value, op: options.op }),
  );
}
