import { findUserField, type FieldType } from '../store/user-fields.js';

/**
 * The parsed form of a SCIM filter (RFC 7644 §3.4.2.2, SPEC §3). `parseFilter` produces it with
 * every name resolved to its canonical lower-case spelling and every literal already checked
 * against the field's type, so `compileFilter` never has to reject anything.
 */
export type FilterNode = LogicalNode | NotNode | CompareNode | PresentNode | ComplexNode;

/** `left and right`, `left or right`. */
export interface LogicalNode {
  readonly kind: 'and' | 'or';
  readonly left: FilterNode;
  readonly right: FilterNode;
}

/** `not (operand)`. */
export interface NotNode {
  readonly kind: 'not';
  readonly operand: FilterNode;
}

/** The attribute operators that take a value; `pr` is a `PresentNode`. */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** Every operator that takes a value, as written in a filter (lower-case). */
export const COMPARE_OPS: readonly CompareOp[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

/** `attr op value`. `attr` is a user field, or a sub-attribute inside a complex attribute. */
export interface CompareNode {
  readonly kind: 'compare';
  readonly attr: string;
  readonly op: CompareOp;
  readonly value: FilterValue;
}

/** `attr pr`: present (not null, and not empty for strings). */
export interface PresentNode {
  readonly kind: 'present';
  readonly attr: string;
}

/**
 * `profiles[...]`, `attributes[...]`, `check_attributes[...]`, `attrs[...]`: the user has at least
 * one related row matching `filter`. `filter` is null for `profiles pr` (at least one row at all).
 */
export interface ComplexNode {
  readonly kind: 'complex';
  readonly attr: ComplexAttribute;
  readonly filter: FilterNode | null;
}

/** A literal after type checking against its field. */
export type FilterValue =
  | { readonly type: 'null' }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'number'; readonly value: number }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'date'; readonly date: DateLiteral };

/**
 * A point in time as written in a filter. Relative dates stay relative in the AST so a parsed (or
 * saved) filter means "90 days before the run", not "90 days before it was parsed".
 */
export type DateLiteral =
  | { readonly kind: 'absolute'; readonly iso: string }
  | { readonly kind: 'relative'; readonly offsetMs: number };

/**
 * What a filter may compare a field with. The user fields use `FieldType`; related rows add
 * `radius-value` (text that may hold a number) and `json` (a `user_attrs` value).
 */
export type FilterFieldType = FieldType | 'radius-value' | 'json';

/** The complex attributes and the sub-attributes their bracketed filters may use. */
export const COMPLEX_ATTRIBUTES = {
  profiles: {
    id: 'integer',
    short_name: 'string',
    name: 'string',
    description: 'string',
    priority: 'integer',
  },
  attributes: { attr: 'string', op: 'string', value: 'radius-value' },
  check_attributes: { attr: 'string', op: 'string', value: 'radius-value' },
  /** Reply rows the user inherits from its profiles (radgroupreply); short_name is the profile's. */
  profile_attributes: { short_name: 'string', attr: 'string', op: 'string', value: 'radius-value' },
  /** Check rows the user inherits from its profiles (radgroupcheck). */
  profile_check_attributes: { short_name: 'string', attr: 'string', op: 'string', value: 'radius-value' },
  attrs: {
    name: 'string',
    value: 'json',
    expires_at: 'timestamp',
    created_at: 'timestamp',
    updated_at: 'timestamp',
  },
} as const satisfies Record<string, Record<string, FilterFieldType>>;

export type ComplexAttribute = keyof typeof COMPLEX_ATTRIBUTES;

/** Whether a lower-cased name is one of the complex attributes (`profiles`, `attrs`, …). */
export function isComplexAttribute(name: string): name is ComplexAttribute {
  return Object.hasOwn(COMPLEX_ATTRIBUTES, name);
}

/**
 * The type of `attr` among the user fields (`scope` null) or among a complex attribute's
 * sub-attributes; undefined when there is no such attribute. Names are canonical (lower-case).
 */
export function attributeType(scope: ComplexAttribute | null, attr: string): FilterFieldType | undefined {
  if (scope === null) return findUserField(attr)?.type;
  const subAttributes: Readonly<Record<string, FilterFieldType>> = COMPLEX_ATTRIBUTES[scope];
  return Object.hasOwn(subAttributes, attr) ? subAttributes[attr] : undefined;
}
