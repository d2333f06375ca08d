import { sql } from 'kysely';
import { UsageError } from '../errors.js';
import type { StoreDriver } from '../store/driver.js';
import { compileFilter } from './compile-filter.js';
import { filterComparesAttrValues } from './filter-compares-attr-values.js';
import { parseFilter } from './parse-filter.js';
import { resolveFilter } from './saved-filters.js';
import type { FilterNode } from './filter-ast.js';
import type { UserWhere } from './select-users.js';

/** A `--filter` read once: its condition, and its parsed form (for `unknownProfiles`). */
export interface UserFilter {
  where: UserWhere;
  ast: FilterNode;
}

/**
 * `--filter` text (an expression or `@saved-name`) → a condition for the users table.
 * Syntax errors throw `FilterSyntaxError` (exit 2) with a caret under the expression; a filter
 * that compares values of attrs stored encrypted is refused: they cannot be compared.
 */
export async function buildUserWhere(store: StoreDriver, text: string, now?: Date): Promise<UserFilter>;
/** No `--filter` given: no condition (every user). */
export async function buildUserWhere(
  store: StoreDriver,
  text: string | undefined,
  now?: Date,
): Promise<UserFilter | undefined>;
export async function buildUserWhere(
  store: StoreDriver,
  text: string | undefined,
  now = new Date(),
): Promise<UserFilter | undefined> {
  if (text === undefined) return undefined;
  const expression = await resolveFilter(store.db, text);
  const ast = parseFilter(expression);
  const compared = filterComparesAttrValues(ast);
  if (compared === 'any' || compared.length > 0) {
    let query = store.db.selectFrom('user_attrs').select('name').where('is_encrypted', '=', 1);
    if (compared !== 'any') query = query.where(sql<string>`lower(name)`, 'in', compared);
    const encrypted = await query.limit(1).executeTakeFirst();
    if (encrypted) {
      throw new UsageError(
        `filter: attr "${encrypted.name}" is stored encrypted for some users, and encrypted values cannot be compared; filter on attrs[name eq "${encrypted.name}"] (presence) instead`,
      );
    }
  }
  const condition = compileFilter(ast, { capabilities: store.capabilities, now });
  return { where: () => condition, ast };
}
