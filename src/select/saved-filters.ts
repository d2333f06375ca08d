import type { Kysely } from 'kysely';
import { UsageError } from '../errors.js';
import type { Database } from '../store/database.js';
import { parseFilter } from './parse-filter.js';

/** A filter expression saved under a name, used as `--filter @name`. */
export interface SavedFilter {
  readonly name: string;
  readonly expression: string;
  /** When this expression was saved (ISO-8601 UTC); an overwrite sets it again. */
  readonly created_at: string;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Saves `expression` under `name`. A filter of that name is replaced only with `replace`
 * (`usrun filters save --force`); otherwise it is a `UsageError` showing the saved expression.
 * The expression must parse (a `FilterSyntaxError` otherwise), so a saved filter never fails
 * later for its syntax. Returns the saved filter and whether it replaced an existing one.
 */
export async function saveFilter(
  db: Kysely<Database>,
  name: string,
  expression: string,
  now: Date = new Date(),
  options: { replace?: boolean } = {},
): Promise<SavedFilter & { readonly replaced: boolean }> {
  checkName(name);
  parseFilter(expression);
  const saved: SavedFilter = { name, expression, created_at: now.toISOString() };
  // Delete + insert rather than an upsert: the same statements work in every dialect.
  const replaced = await db.transaction().execute(async (trx) => {
    if (!options.replace) {
      const existing = await trx
        .selectFrom('filters')
        .select('expression')
        .where('name', '=', name)
        .executeTakeFirst();
      if (existing) {
        throw new UsageError(
          `a filter @${name} is already saved (${existing.expression}); replace it with --force, or pick another name`,
        );
      }
    }
    const deleted = await trx.deleteFrom('filters').where('name', '=', name).executeTakeFirst();
    await trx.insertInto('filters').values(saved).execute();
    return deleted.numDeletedRows > 0n;
  });
  return { ...saved, replaced };
}

/** Every saved filter, by name. */
export async function listFilters(db: Kysely<Database>): Promise<SavedFilter[]> {
  return db.selectFrom('filters').select(['name', 'expression', 'created_at']).orderBy('name').execute();
}

/** Removes a saved filter; a `UsageError` when there is none of that name. */
export async function removeFilter(db: Kysely<Database>, name: string): Promise<void> {
  checkName(name);
  const result = await db.deleteFrom('filters').where('name', '=', name).executeTakeFirst();
  if (result.numDeletedRows === 0n) throw unknownFilter(name);
}

/**
 * `@name` → the saved expression (a `UsageError` naming it when there is none); any other text
 * is returned unchanged, for `parseFilter`.
 */
export async function resolveFilter(db: Kysely<Database>, text: string): Promise<string> {
  const trimmed = text.trim();
  if (!trimmed.startsWith('@')) return text;
  const name = trimmed.slice(1);
  checkName(name);
  const row = await db.selectFrom('filters').select('expression').where('name', '=', name).executeTakeFirst();
  if (!row) throw unknownFilter(name);
  return row.expression;
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new UsageError(
      `bad filter name ${JSON.stringify(name)}: use 1 to 64 letters, digits, "_", "." or "-"`,
    );
  }
}

function unknownFilter(name: string): UsageError {
  return new UsageError(`unknown saved filter "@${name}": see \`usrun filters list\``);
}
