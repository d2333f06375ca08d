import type { StoreDriver } from '../store/driver.js';
import { compileFilter } from './compile-filter.js';
import { parseFilter } from './parse-filter.js';
import { resolveFilter } from './saved-filters.js';
import type { UserWhere } from './select-users.js';

/**
 * `--filter` text (an expression or `@saved-name`) → a condition for the users table.
 * Syntax errors throw `FilterSyntaxError` (exit 2) with a caret under the expression.
 */
export async function buildUserWhere(store: StoreDriver, text: string, now = new Date()): Promise<UserWhere> {
  const expression = await resolveFilter(store.db, text);
  const condition = compileFilter(parseFilter(expression), { capabilities: store.capabilities, now });
  return () => condition;
}
