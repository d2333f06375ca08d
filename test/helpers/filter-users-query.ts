import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { Database } from '../../src/store/database.js';
import { compileFilter, type CompileContext } from '../../src/select/compile-filter.js';
import type { FilterNode } from '../../src/select/filter-ast.js';

/**
 * For filter tests: `select … from users where <compiled filter>`, the same condition the CLI's
 * selection (src/select/build-user-where.ts) puts on its keyset pages; the caller adds the select
 * list and order. A null filter selects every user (`--all`).
 */
export function filterUsersQuery(
  db: Kysely<Database>,
  ast: FilterNode | null,
  ctx: CompileContext,
): SelectQueryBuilder<Database, 'users', object> {
  const query = db.selectFrom('users');
  return ast ? query.where(compileFilter(ast, ctx)) : query;
}
