import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { readCsv } from '../../select/read-csv.js';
import { countUsers, selectUserPages } from '../../select/select-users.js';
import { formatCount } from '../selection-notes.js';
import { unknownProfiles } from '../../select/unknown-profiles.js';
import { buildUserWhere } from '../../select/build-user-where.js';
import { importUsers } from '../../run/import-users.js';
import { reportJournaled } from '../report-journaled.js';
import { loadUsers, toFieldValues } from '../../store/load-users.js';
import { loadProfileAttributes } from '../../store/profile-attributes.js';
import { findUser } from '../../store/find-user.js';
import { usingStore } from '../../store/using-store.js';
import type { Io } from '../io.js';
import { formatTable } from '../format-table.js';

export interface UsersListOptions {
  db?: string;
  filter?: string;
  json?: boolean;
  limit?: number;
}

/** `usrun users list`: users matching a filter, as a table or NDJSON. */
export async function usersListCommand(options: UsersListOptions, io: Io): Promise<number> {
  return usingStore({ location: options.db, readOnly: true }, async (store) => {
    const filter = await buildUserWhere(store, options.filter);
    const where = filter?.where;
    // Said before the (maybe empty) listing, as `run` says it before a run.
    if (filter !== undefined) {
      for (const warning of await unknownProfiles(store, filter.ast)) io.err(`usrun: warning: ${warning}\n`);
    }
    const rows: string[][] = [];
    let count = 0;
    for await (const page of selectUserPages(store, { where, limit: options.limit })) {
      for (const raw of page) {
        const user = toFieldValues(raw as unknown as Record<string, unknown>);
        count += 1;
        if (options.json) {
          io.out(`${JSON.stringify(user)}\n`);
        } else {
          const name = [user['first_name'], user['last_name']].filter(Boolean).join(' ');
          rows.push([
            String(user['obj_id']),
            String(user['username']),
            name,
            String(user['email'] ?? ''),
            String(user['klass'] ?? ''),
            user['is_active'] ? 'yes' : 'no',
            String(user['last_login'] ?? 'never').slice(0, 10),
          ]);
          // Print in chunks so a large listing streams instead of piling up.
          if (rows.length >= 1000) {
            io.out(
              formatTable(
                ['ID', 'USERNAME', 'NAME', 'EMAIL', 'KLASS', 'ACTIVE', 'LAST LOGIN'],
                rows.splice(0),
                io.color,
              ),
            );
          }
        }
      }
    }
    if (!options.json) {
      if (rows.length > 0)
        io.out(
          formatTable(['ID', 'USERNAME', 'NAME', 'EMAIL', 'KLASS', 'ACTIVE', 'LAST LOGIN'], rows, io.color),
        );
      // With --limit, say how many there were: "3 of 1,000 users".
      const all =
        options.limit !== undefined && count === options.limit ? await countUsers(store, where) : count;
      const of = all > count ? ` of ${formatCount(all)}` : '';
      io.err(
        `${formatCount(count)}${of} user${all === 1 ? '' : 's'}${of ? ` (--limit ${options.limit})` : ''}\n`,
      );
    }
    return count;
  });
}

/**
 * `usrun users show KEY`: one user with profiles, attributes and attrs, found by username,
 * obj_id, or case-insensitively by username, email or external_id (`findUser`).
 */
export async function usersShowCommand(
  key: string,
  options: { db?: string; json?: boolean },
  io: Io,
): Promise<void> {
  await usingStore({ location: options.db, readOnly: true }, async (store) => {
    const found = await findUser(store, key);
    const user = (await loadUsers(store, [found.id])).get(found.id);
    if (!user) throw new UsageError(`no user with obj_id ${found.id}`);
    // Say how a key that is neither the exact username nor the obj_id found this user.
    if (found.matchedBy !== 'username' && found.matchedBy !== 'obj_id') {
      io.err(
        `${JSON.stringify(key)} matched by ${found.matchedBy}: ${String(user.fields['username'])} (#${found.id})\n`,
      );
    }
    const now = new Date().toISOString();
    const attrs = user.attrs
      .filter((a) => a.expires_at === null || a.expires_at > now)
      .map((a) => ({
        name: a.name,
        value: a.is_encrypted ? '<encrypted>' : JSON.parse(a.value),
        encrypted: a.is_encrypted,
        expires_at: a.expires_at,
      }));
    // What FreeRADIUS adds from the user's groups (radgroupreply / radgroupcheck), by profile.
    const byProfile = await loadProfileAttributes(store);
    const strip = (rows: readonly { attr: string; op: string; value: string }[] = []) =>
      rows.map(({ attr, op, value }) => ({ attr, op, value }));
    const profiles = user.profiles.map((p) => ({
      ...p,
      attributes: strip(byProfile.get(p.id)?.attributes),
      check_attributes: strip(byProfile.get(p.id)?.check_attributes),
    }));
    if (options.json) {
      const { fields, attributes, check_attributes } = user;
      io.out(`${JSON.stringify({ ...fields, profiles, attributes, check_attributes, attrs })}\n`);
      return;
    }
    const c = io.color;
    io.out(`${c.bold(String(user.fields['username']))} ${c.dim(`(obj_id ${user.id})`)}\n`);
    for (const [name, value] of Object.entries(user.fields)) {
      if (name === 'obj_id' || name === 'username') continue;
      io.out(`  ${name.padEnd(16)} ${value === null ? c.dim('null') : String(value)}\n`);
    }
    io.out(`${c.bold('profiles')}\n`);
    if (user.profiles.length === 0) io.out(`  ${c.dim('(none)')}\n`);
    for (const p of user.profiles)
      io.out(`  ${p.short_name}  ${c.dim(`${p.name ?? ''} · id ${p.id} · priority ${p.priority}`)}\n`);
    for (const [title, rows, key] of [
      ['reply attributes', user.attributes, 'attributes'],
      ['check attributes', user.check_attributes, 'check_attributes'],
    ] as const) {
      io.out(`${c.bold(title)}\n`);
      const inherited = profiles.flatMap((p) => p[key].map((r) => ({ ...r, from: p.short_name })));
      if (rows.length === 0 && inherited.length === 0) io.out(`  ${c.dim('(none)')}\n`);
      for (const r of rows) io.out(`  ${r.attr} ${r.op} ${r.value}\n`);
      for (const r of inherited)
        io.out(`  ${r.attr} ${r.op} ${r.value}  ${c.dim(`(inherited from profile ${r.from})`)}\n`);
    }
    io.out(`${c.bold('attrs')}\n`);
    if (attrs.length === 0) io.out(`  ${c.dim('(none)')}\n`);
    for (const a of attrs) {
      const value = a.encrypted ? '<encrypted>' : JSON.stringify(a.value);
      io.out(`  ${a.name} = ${value}${a.expires_at ? c.dim(`  (expires ${a.expires_at})`) : ''}\n`);
    }
  });
}

/**
 * `usrun users import FILE.csv`: upsert by username, as a journaled run (`runs undo` takes it
 * back); a bad file writes nothing. `--dry-run` prints each row's diff and writes nothing.
 */
export async function usersImportCommand(
  file: string,
  options: {
    db?: string;
    delimiter?: string;
    dryRun?: boolean;
    json?: boolean;
    yes?: boolean;
    verbose?: boolean;
  },
  io: Io,
): Promise<number> {
  return usingStore({ location: options.db }, async (store) => {
    const table = readCsv(file, options.delimiter === undefined ? {} : { delimiter: options.delimiter });
    const text = readFileSync(file, 'utf8');
    const dryRun = options.dryRun ?? false;
    const { exitCode } = await reportJournaled(
      io,
      {
        dryRun,
        json: options.json ?? false,
        yes: options.yes ?? false,
        verbose: options.verbose ?? false,
        total: table.rows.length,
        question: `About to change up to ${table.rows.length} users in ${store.location} from ${file}. Continue? [y/N] `,
        again: `usrun users import ${file}${options.db ? ` --db ${options.db}` : ''}`,
      },
      (control, onItem) => importUsers(store, table, { dryRun, text, control, onItem }),
    );
    return exitCode;
  });
}
