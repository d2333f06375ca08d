/**
 * What a script sees besides the user fields (those are `USER_FIELDS`): its globals, the `user`
 * object's readers and methods, `user.attr` and `console`, each with the TypeScript signature
 * `usrun types` declares for it. The prelude's objects are checked against these names by the
 * type checker (`satisfies` in src/sandbox/prelude/), and a test compares them with what a
 * script really finds in the sandbox, so the declarations cannot drift from the sandbox.
 *
 * Type names in signatures are declared by the generator (src/sandbox/script-types.ts).
 */

/** One member as the declarations show it: its doc comment and TypeScript text. */
export interface ApiMember {
  readonly doc: string;
  /** Method signatures (`(a: string): Result`), one per overload; or a property's type. */
  readonly ts: readonly string[];
}

const m = (doc: string, ...ts: string[]): ApiMember => ({ doc, ts });

/** Globals a script can use (and cannot replace). */
export const SCRIPT_GLOBALS = {
  user: m('The user being run: its fields, readers and methods.', 'UsrunUser'),
  obj: m('Alias of `user`.', 'UsrunUser'),
  row: m(
    'The CSV row (`--csv`) as `{column: "text"}`, or null when users were picked otherwise.',
    'UsrunRow | null',
  ),
  params: m('`{key: "value"}` from repeatable `--param key=value`.', 'UsrunParams'),
  console: m('Captured per user and shown in the report.', 'UsrunConsole'),
  skip: m(
    'Stops the script for this user here, discards its changes; status `skipped` with the reason.',
    '(reason?: unknown): never',
  ),
} as const satisfies Record<string, ApiMember>;

/** Read-only properties of `user` besides its fields. */
export const USER_READERS = {
  profiles: m(
    "The user's profiles (RADIUS groups) with the script's pending changes; each with its own rows (read-only).",
    'readonly UsrunProfile[]',
  ),
  attributes: m('Reply attributes (radreply rows), with pending changes.', 'readonly UsrunRadiusRow[]'),
  check_attributes: m('Check attributes (radcheck rows), with pending changes.', 'readonly UsrunRadiusRow[]'),
  attr: m('Key/value attributes with expiry (`user.attr.set(…)`).', 'UsrunUserAttr'),
} as const satisfies Record<string, ApiMember>;

const RESULT = 'UsrunMethodResult';

/** Methods of `user`; each returns `[updated, message]`. */
export const USER_METHODS = {
  profile_add: m(
    'Adds a profile by short_name or id. `[false, "user already has profile gold"]` when it has it.',
    `(profile: UsrunProfileArg): ${RESULT}`,
  ),
  profile_remove: m('Removes a profile by short_name or id.', `(profile: UsrunProfileArg): ${RESULT}`),
  attribute_add: m(
    'Adds a reply attribute (radreply). `:=` replaces every row of the attribute, `=` adds only if it is absent, `+=` appends.',
    `(attr: string, value: string | number, operation?: UsrunReplyOp): ${RESULT}`,
    `(row: UsrunRadiusArg<UsrunReplyOp>): ${RESULT}`,
  ),
  attribute_remove: m(
    'Removes the reply rows with that attribute and value (and operation, when given).',
    `(attr: string, value: string | number, operation?: UsrunReplyOp): ${RESULT}`,
    `(row: UsrunRadiusArg<UsrunReplyOp>): ${RESULT}`,
  ),
  check_attribute_add: m(
    'Adds a check attribute (radcheck); the default operation is `==`.',
    `(attr: string, value: string | number, operation?: UsrunCheckOp): ${RESULT}`,
    `(row: UsrunRadiusArg<UsrunCheckOp>): ${RESULT}`,
  ),
  check_attribute_remove: m(
    'Removes the check rows with that attribute and value (and operation, when given).',
    `(attr: string, value: string | number, operation?: UsrunCheckOp): ${RESULT}`,
    `(row: UsrunRadiusArg<UsrunCheckOp>): ${RESULT}`,
  ),
} as const satisfies Record<string, ApiMember>;

const SET = '(name: string, value: UsrunJsonValue, expiration?: number | null, encrypt?: boolean): void';
const SET_MANY = '(data: readonly UsrunAttrEntry[], expiration?: number | null, encrypt?: boolean): void';

/** Methods of `user.attr`. `expiration` is seconds from now; null or absent: never expires. */
export const ATTR_METHODS = {
  set: m('Creates or replaces an attribute.', SET),
  set_many: m(
    'Creates or replaces several; an entry without expiration/encrypt takes the defaults given.',
    SET_MANY,
  ),
  create: m('Creates an attribute; throws if it exists.', SET),
  create_many: m('Creates several; throws if any exists.', SET_MANY),
  update: m('Replaces an attribute; throws if it does not exist.', SET),
  update_many: m('Replaces several; throws if any does not exist.', SET_MANY),
  get: m("An attribute's value, or null when there is none.", '(name: string): UsrunJsonValue'),
  get_many: m(
    'Values by name (null for a missing one).',
    '(names: readonly string[]): { [name: string]: UsrunJsonValue }',
  ),
  exists: m('Whether the attribute exists.', '(name: string): boolean'),
  names: m('The names of all attributes.', '(): string[]'),
  delete: m('Deletes an attribute; false when there was none.', '(name: string): boolean'),
  delete_many: m('Deletes several; returns how many there were.', '(names: readonly string[]): number'),
  set_expiry: m(
    'Sets when an attribute expires, in seconds from now; null removes the expiry. Throws if it does not exist.',
    '(name: string, seconds: number | null): void',
  ),
} as const satisfies Record<string, ApiMember>;

/** Methods of `console`; `warn`/`error` lines are prefixed `warn: `/`error: `. */
export const CONSOLE_METHODS = {
  log: m("A line in the user's report (objects as JSON).", '(...values: unknown[]): void'),
  info: m('As log.', '(...values: unknown[]): void'),
  warn: m('A line prefixed `warn: `.', '(...values: unknown[]): void'),
  error: m('A line prefixed `error: `.', '(...values: unknown[]): void'),
} as const satisfies Record<string, ApiMember>;

export type UserMethodName = keyof typeof USER_METHODS;
export type UserReaderName = keyof typeof USER_READERS;
export type AttrMethodName = keyof typeof ATTR_METHODS;
export type ConsoleMethodName = keyof typeof CONSOLE_METHODS;

/** The shape the prelude's method tables must have: exactly these names (a `__proto__` aside). */
export type MethodTable<K extends string> = { readonly [P in K]: (this: any, ...args: any[]) => unknown } & {
  __proto__?: unknown;
};
