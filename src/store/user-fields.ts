/**
 * The user fields of SPEC §2 with their types and rules. Filters, the sandbox's `user` object
 * and the host's validation all read this one table.
 */
export type FieldType = 'integer' | 'string' | 'boolean' | 'timestamp';

export interface UserField {
  readonly name: string;
  readonly type: FieldType;
  /** Scripts may assign it. */
  readonly writable: boolean;
  /** May hold null. */
  readonly nullable: boolean;
  /** Longest string accepted (strings only). */
  readonly maxLength?: number;
}

const f = (
  name: string,
  type: FieldType,
  writable: boolean,
  extra: { nullable?: boolean; maxLength?: number } = {},
): UserField => ({
  name,
  type,
  writable,
  nullable: extra.nullable ?? true,
  ...(extra.maxLength ? { maxLength: extra.maxLength } : {}),
});

export const USER_FIELDS: readonly UserField[] = [
  f('obj_id', 'integer', false, { nullable: false }),
  f('username', 'string', true, { nullable: false, maxLength: 64 }),
  f('username_length', 'integer', true),
  f('first_name', 'string', true, { maxLength: 255 }),
  f('last_name', 'string', true, { maxLength: 255 }),
  f('email', 'string', true, { maxLength: 255 }),
  f('external_id', 'string', true, { maxLength: 255 }),
  f('klass', 'string', true, { maxLength: 255 }),
  f('is_active', 'boolean', true, { nullable: false }),
  f('date_joined', 'timestamp', false),
  f('first_login', 'timestamp', false),
  f('last_login', 'timestamp', false),
  f('expiration', 'timestamp', true),
  f('last_update', 'timestamp', true),
  f('organization_id', 'integer', false),
  f('avatar_url', 'string', true, { maxLength: 1024 }),
  f('description', 'string', true, { maxLength: 4000 }),
];

export const USER_FIELD_NAMES: readonly string[] = USER_FIELDS.map((x) => x.name);

const byName = new Map(USER_FIELDS.map((x) => [x.name, x]));

/** Case-insensitive lookup (filters are case-insensitive; scripts use the exact lower-case names). */
export function findUserField(name: string): UserField | undefined {
  return byName.get(name.toLowerCase());
}
