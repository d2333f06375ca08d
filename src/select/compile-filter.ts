import {
  expressionBuilder,
  sql,
  type Expression,
  type ExpressionBuilder,
  type RawBuilder,
  type SqlBool,
} from 'kysely';
import type { Database } from '../store/database.js';
import type { DialectCapabilities } from '../store/driver.js';
import { dateLiteralToIso } from './date-literal.js';
import {
  attributeType,
  type CompareNode,
  type CompareOp,
  type ComplexAttribute,
  type ComplexNode,
  type FilterFieldType,
  type FilterNode,
} from './filter-ast.js';

/** What a compiled filter depends on besides its text. */
export interface CompileContext {
  /** The dialect's differences (booleans, JSON and number casts). */
  readonly capabilities: DialectCapabilities;
  /** Relative dates (`"-90d"`) and attribute expiry are measured from here. */
  readonly now: Date;
}

type Eb = ExpressionBuilder<Database, 'users'>;
type Condition = Expression<SqlBool>;

/** A column as kysely renders it (quoted) and as raw SQL text for the dialect's helpers. */
interface Column {
  readonly ref: RawBuilder<unknown>;
  /** `table.column`: only ever built from the fixed catalog below, never from filter text. */
  readonly text: string;
  /** `lower(table.column)` as the dialect serves it from an index (capabilities.lowerColumn). */
  readonly lower: RawBuilder<unknown>;
}

const SQL_OPERATOR: Record<Exclude<CompareOp, 'ne' | 'co' | 'sw' | 'ew'>, string> = {
  eq: '=',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
};
const ORDER_OPS: readonly CompareOp[] = ['gt', 'ge', 'lt', 'le'];
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const NUMERIC_STRING = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** Where each complex attribute's rows live, and the table of each sub-attribute. */
const COMPLEX_TABLES: Record<
  ComplexAttribute,
  { readonly table: string; readonly columns?: Record<string, string> }
> = {
  profiles: { table: 'profiles', columns: { priority: 'user_profiles' } },
  attributes: { table: 'reply_attributes' },
  check_attributes: { table: 'check_attributes' },
  profile_attributes: { table: 'profile_reply_attributes', columns: { short_name: 'profiles' } },
  profile_check_attributes: { table: 'profile_check_attributes', columns: { short_name: 'profiles' } },
  attrs: { table: 'user_attrs' },
};

/**
 * Translates a parsed filter into a kysely condition on `users`, for
 * `db.selectFrom('users').where(compileFilter(ast, ctx))`. Every value is a bound parameter;
 * identifiers come only from the field catalog. Each comparison is two-valued (never SQL NULL),
 * so `not (email eq "x")` also selects users without an email, as an admin expects.
 */
export function compileFilter(ast: FilterNode, ctx: CompileContext): Condition {
  return new Compiler(ctx).node(ast, null);
}

class Compiler {
  private readonly eb: Eb = expressionBuilder<Database, 'users'>();

  constructor(private readonly ctx: CompileContext) {}

  node(node: FilterNode, scope: ComplexAttribute | null): Condition {
    switch (node.kind) {
      case 'and':
      case 'or': {
        const operands = flatten(node, node.kind).map((n) => this.node(n, scope));
        return node.kind === 'and' ? this.eb.and(operands) : this.eb.or(operands);
      }
      case 'not':
        return this.eb.not(this.node(node.operand, scope));
      case 'present':
        return this.present(this.column(scope, node.attr), fieldType(scope, node.attr));
      case 'compare':
        return this.compare(this.column(scope, node.attr), fieldType(scope, node.attr), node);
      case 'complex':
        return this.complex(node);
    }
  }

  private complex(node: ComplexNode): Condition {
    const { eb } = this;
    const one = eb.lit(1).as('one');
    const inner = node.filter ? [this.node(node.filter, node.attr)] : [];
    switch (node.attr) {
      case 'profiles':
        return eb.exists(
          eb
            .selectFrom('user_profiles')
            .innerJoin('profiles', 'profiles.id', 'user_profiles.profile_id')
            .select(one)
            .whereRef('user_profiles.user_id', '=', 'users.obj_id')
            .where(eb.and(inner)),
        );
      case 'attributes':
        return eb.exists(
          eb
            .selectFrom('reply_attributes')
            .select(one)
            .whereRef('reply_attributes.user_id', '=', 'users.obj_id')
            .where(eb.and(inner)),
        );
      case 'check_attributes':
        return eb.exists(
          eb
            .selectFrom('check_attributes')
            .select(one)
            .whereRef('check_attributes.user_id', '=', 'users.obj_id')
            .where(eb.and(inner)),
        );
      case 'profile_attributes':
      case 'profile_check_attributes': {
        const table = COMPLEX_TABLES[node.attr].table as 'profile_reply_attributes';
        return eb.exists(
          eb
            .selectFrom('user_profiles')
            .innerJoin('profiles', 'profiles.id', 'user_profiles.profile_id')
            .innerJoin(table, `${table}.profile_id`, 'profiles.id')
            .select(one)
            .whereRef('user_profiles.user_id', '=', 'users.obj_id')
            .where(eb.and(inner)),
        );
      }
      case 'attrs': {
        const expires = sql.ref('user_attrs.expires_at');
        const unexpired = eb.or([
          sql<SqlBool>`${expires} is null`,
          sql<SqlBool>`${expires} > ${this.ctx.now.toISOString()}`,
        ]);
        return eb.exists(
          eb
            .selectFrom('user_attrs')
            .select(one)
            .whereRef('user_attrs.user_id', '=', 'users.obj_id')
            .where(eb.and([unexpired, ...inner])),
        );
      }
    }
  }

  private column(scope: ComplexAttribute | null, attr: string): Column {
    const table = scope ? (COMPLEX_TABLES[scope].columns?.[attr] ?? COMPLEX_TABLES[scope].table) : 'users';
    const text = `${table}.${attr}`;
    return { ref: sql.ref(text), text, lower: sql.raw(this.ctx.capabilities.lowerColumn(table, attr)) };
  }

  private present(col: Column, type: FilterFieldType): Condition {
    const { eb } = this;
    const notNull = sql<SqlBool>`${col.ref} is not null`;
    switch (type) {
      case 'string':
      case 'radius-value':
        return eb.and([notNull, sql<SqlBool>`${col.ref} <> ${sql.lit('')}`]);
      case 'json':
        // Ciphertext cannot be read, but a value is there.
        return eb.or([
          sql<SqlBool>`${sql.ref('user_attrs.is_encrypted')} = ${this.bool(true)}`,
          sql<SqlBool>`${col.ref} not in (${sql.lit('null')}, ${sql.lit('""')})`,
        ]);
      default:
        return notNull;
    }
  }

  private compare(col: Column, type: FilterFieldType, node: CompareNode): Condition {
    const { value, op } = node;
    if (type === 'json') return this.compareJson(col, node);
    if (op === 'ne') return this.eb.not(this.compare(col, type, { ...node, op: 'eq' }));
    if (value.type === 'null') return sql<SqlBool>`${col.ref} is null`;
    const notNull = sql<SqlBool>`${col.ref} is not null`;
    switch (value.type) {
      case 'string':
        if (type === 'radius-value' && ORDER_OPS.includes(op) && NUMERIC_STRING.test(value.value)) {
          // RADIUS values are text, but `value gt "3600"` means a number to an admin, not "900" > "3600".
          return this.compareRadiusNumber(col, op, Number(value.value));
        }
        return this.eb.and([notNull, this.compareText(col.lower, op, value.value)]);
      case 'number':
        if (type === 'radius-value') return this.compareRadiusNumber(col, op, value.value);
        return this.eb.and([
          notNull,
          sql<SqlBool>`${this.numeric(col, value.value)} ${sql.raw(sqlOperator(op))} ${value.value}`,
        ]);
      case 'boolean':
        return this.eb.and([notNull, sql<SqlBool>`${col.ref} = ${this.bool(value.value)}`]);
      case 'date':
        return this.eb.and([
          notNull,
          sql<SqlBool>`${col.ref} ${sql.raw(sqlOperator(op))} ${dateLiteralToIso(value.date, this.ctx.now)}`,
        ]);
    }
  }

  /**
   * Case-insensitive text comparison of a non-null expression, already lower-cased, with a
   * string parameter.
   */
  private compareText(lowered: Expression<unknown>, op: CompareOp, text: string): Condition {
    switch (op) {
      case 'co':
        return this.like(lowered, `%${escapeLike(text)}%`);
      case 'sw':
        return this.like(lowered, `${escapeLike(text)}%`);
      case 'ew':
        return this.like(lowered, `%${escapeLike(text)}`);
      default:
        return sql<SqlBool>`${lowered} ${sql.raw(sqlOperator(op))} lower(${text})`;
    }
  }

  private like(lowered: Expression<unknown>, pattern: string): Condition {
    return sql<SqlBool>`${lowered} like lower(${pattern}) ${sql.raw(this.ctx.capabilities.likeEscapeSql)}`;
  }

  /** `castNumber(value) op n`, only for values that are decimal numbers (SQLite casts "abc" to 0). */
  private compareRadiusNumber(col: Column, op: CompareOp, n: number): Condition {
    const cast = sql.raw(this.ctx.capabilities.castNumber(col.text));
    return guarded(
      this.eb,
      isDecimalText(this.eb, col.ref),
      sql<SqlBool>`${cast} ${sql.raw(sqlOperator(op))} ${n}`,
    );
  }

  /**
   * `attrs[value ...]`: the column holds JSON text, or ciphertext when encrypted, which no
   * comparison may look at. Strings compare their JSON text for eq/ne (so `"5"` never equals 5)
   * and the extracted scalar otherwise; numbers compare the extracted scalar of JSON numbers only.
   */
  private compareJson(col: Column, node: CompareNode): Condition {
    const { eb } = this;
    const { value, op } = node;
    const plain = sql<SqlBool>`${sql.ref('user_attrs.is_encrypted')} = ${this.bool(false)}`;
    const scalar = sql.raw(this.ctx.capabilities.jsonScalar(col.text));
    const jsonText = (text: Expression<string>): Condition =>
      op === 'ne' ? sql<SqlBool>`${col.ref} <> ${text}` : sql<SqlBool>`${col.ref} = ${text}`;
    switch (value.type) {
      case 'null':
        return eb.and([plain, jsonText(sql.lit('null'))]);
      case 'boolean':
        return eb.and([plain, jsonText(sql.lit(String(value.value)))]);
      case 'string': {
        if (op === 'eq' || op === 'ne') {
          const equal = sql<SqlBool>`lower(${col.ref}) = lower(${JSON.stringify(value.value)})`;
          return eb.and([plain, op === 'ne' ? eb.not(equal) : equal]);
        }
        const isString = eb.and([plain, sql<SqlBool>`${col.ref} like ${sql.lit('"%')}`]);
        return guarded(eb, isString, this.compareText(sql`lower(${scalar})`, op, value.value));
      }
      case 'number': {
        // The JSON text of a number is a number literal: cast it, so it compares as a number.
        const number = sql.raw(this.ctx.capabilities.castNumber(col.text));
        const isNumber = eb.and([
          plain,
          sql<SqlBool>`substr(${col.ref}, 1, 1) in (${sql.join(literals([...DIGITS, '-']))})`,
        ]);
        if (op === 'ne')
          return eb.and([plain, eb.not(guarded(eb, isNumber, sql<SqlBool>`${number} = ${value.value}`))]);
        return guarded(eb, isNumber, sql<SqlBool>`${number} ${sql.raw(sqlOperator(op))} ${value.value}`);
      }
      case 'date':
        // The parser makes dates for timestamp fields only.
        throw new TypeError('a date literal cannot reach attrs.value');
    }
  }

  /**
   * An integer column as compared with a number: as it is for whole numbers (an index serves
   * it), cast for fractions, which PostgreSQL would not take as an integer parameter.
   */
  private numeric(col: Column, n: number): Expression<unknown> {
    return Number.isInteger(n) ? col.ref : sql.raw(this.ctx.capabilities.castNumber(col.text));
  }

  private bool(value: boolean): boolean | number {
    return this.ctx.capabilities.booleansAsIntegers ? (value ? 1 : 0) : value;
  }
}

function fieldType(scope: ComplexAttribute | null, attr: string): FilterFieldType {
  const type = attributeType(scope, attr);
  if (!type) throw new TypeError(`not a filter attribute: ${scope ? `${scope}.` : ''}${attr}`);
  return type;
}

function sqlOperator(op: CompareOp): string {
  const operator = (SQL_OPERATOR as Partial<Record<CompareOp, string>>)[op];
  if (!operator) throw new TypeError(`no SQL operator for ${op}`);
  return operator;
}

/** `a and b and c` as one list, so the SQL is not nested one level per operand. */
function flatten(node: FilterNode, kind: 'and' | 'or'): FilterNode[] {
  return node.kind === kind ? [...flatten(node.left, kind), ...flatten(node.right, kind)] : [node];
}

/**
 * `case when guard then test else false end`: unlike `and`, CASE promises not to evaluate `test`
 * unless `guard` holds, so a JSON function never sees ciphertext and a cast never sees text.
 */
function guarded(eb: Eb, guard: Condition, test: Condition): Condition {
  return eb.case().when(guard).then(test).else(eb.lit(false)).end();
}

/**
 * Text that a cast reads as exactly the number written: an optional sign, digits and at most one
 * point. Without this, SQLite's cast reads "abc" as 0, "10.0.0.1" as 10 and "12:30" as 12. Built
 * from `substr`/`replace`, which every dialect has.
 */
function isDecimalText(eb: Eb, col: Expression<unknown>): Condition {
  const withoutDigits = (text: Expression<unknown>): Expression<unknown> =>
    DIGITS.reduce<Expression<unknown>>(
      (acc, digit) => sql`replace(${acc}, ${sql.lit(digit)}, ${sql.lit('')})`,
      text,
    );
  const first = sql`substr(${col}, 1, 1)`;
  const rest = withoutDigits(sql`substr(${col}, 2)`);
  return eb.and([
    sql<SqlBool>`${col} is not null`,
    sql<SqlBool>`${first} in (${sql.join(literals([...DIGITS, '-', '+', '.']))})`,
    sql<SqlBool>`${rest} in (${sql.lit('')}, ${sql.lit('.')})`,
    eb.or([sql<SqlBool>`${first} <> ${sql.lit('.')}`, sql<SqlBool>`${rest} = ${sql.lit('')}`]),
    sql<SqlBool>`${withoutDigits(col)} <> ${col}`,
  ]);
}

/** Fixed SQL constants of ours (never filter text) as literals, so the SQL stays readable. */
function literals(values: readonly string[]): RawBuilder<unknown>[] {
  return values.map((v) => sql.lit(v));
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
