import { UsageError } from '../../errors.js';
import { insertReturningId } from '../../store/insert-returning-id.js';
import { usingStore } from '../../store/using-store.js';
import { formatTable } from '../format-table.js';
import type { Io } from '../io.js';

const SHORT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

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
