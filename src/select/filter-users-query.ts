import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { Database } from '../store/database.js';
import { compileFilter, type CompileContext } from './compile-filter.js';
import type { FilterNode } from './filter-ast.js';

/**
 * `select … from users where <filter>` without a select list, order or limit: the caller adds
 * them (the run's keyset paging, `users list`). A null filter selects every user (`--all`).
 */
export function filterUsersQuery(
  db: Kysely<Database>,
  ast: FilterNode | null,
  ctx: CompileContext,
): SelectQueryBuilder<Database, 'users', object> {
  const query = db.selectFrom('users');
  return ast ? query.where(compileFilter(ast, ctx)) : query;
}
