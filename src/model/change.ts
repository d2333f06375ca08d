/**
 * One change to one user or profile, as the journal stores it, `--json` prints it, the dry-run diff renders
 * it and undo inverts it. `before`/`after` are plain JSON; null means "did not exist".
 *
 * - `field`: target = field name; before/after = the values (timestamps as ISO strings).
 * - `profile`: target = profile short_name; before/after = `{id, priority}` or null.
 * - `reply` / `check`: target = attribute name; before/after = `{id, attr, op, value}` or null
 *   (`id` null for a row being added). Both present = the row's value changed.
 * - `attr`: target = attribute name; before/after = `StoredAttr` or null. Encrypted values are
 *   ciphertext here, never plaintext.
 * - `user`: the user itself. target = username; before null + after = its fields: created (by an
 *   import); before = fields + after null: deleted (by the undo of that import).
 * - `group`: a profile itself (a RADIUS group). target = short_name; before/after = `GroupInfo`
 *   or null: created / deleted.
 * - `group_reply` / `group_check`: a profile's own row (radgroupreply / radgroupcheck). target =
 *   the profile's short_name; before/after = `{id, attr, op, value}` or null, as for `reply`.
 *
 * User-level kinds belong to the item's user; the group kinds name their profile in `target`
 * (short names are unique and never renamed), so they need no user.
 */
export type Change =
  FieldChange | ProfileChange | RadiusChange | AttrChange | UserChange | GroupChange | GroupRowChange;

export type ChangeKind = Change['kind'];

/** Kinds that change a profile rather than a user. */
export const GROUP_KINDS: readonly ChangeKind[] = ['group', 'group_reply', 'group_check'];

export type FieldValue = string | number | boolean | null;

export interface FieldChange {
  kind: 'field';
  target: string;
  before: FieldValue;
  after: FieldValue;
  /** Set by usrun itself (last_update), not by the script. */
  auto?: true;
}

export interface Membership {
  id: number;
  priority: number;
}

export interface ProfileChange {
  kind: 'profile';
  target: string;
  before: Membership | null;
  after: Membership | null;
}

export interface RadiusRow {
  id: number | null;
  attr: string;
  op: string;
  value: string;
}

export interface RadiusChange {
  kind: 'reply' | 'check';
  target: string;
  before: RadiusRow | null;
  after: RadiusRow | null;
}

export interface StoredAttr {
  /** JSON text, or ciphertext when `is_encrypted`. */
  value: string;
  is_encrypted: boolean;
  expires_at: string | null;
  /** Kept so that undo restores the row exactly. */
  created_at?: string;
  updated_at?: string;
}

export interface AttrChange {
  kind: 'attr';
  target: string;
  before: StoredAttr | null;
  after: StoredAttr | null;
}

/**
 * A user's stored fields, by name, without `obj_id` unless the row is being put back where it
 * was (the undo of an undo re-creates a deleted user with its own id).
 */
export type UserRecord = Record<string, FieldValue>;

export interface UserChange {
  kind: 'user';
  target: string;
  before: UserRecord | null;
  after: UserRecord | null;
}

export interface GroupInfo {
  /** Present when a deleted profile is put back (the undo of an undo): its own id. */
  id?: number;
  name: string | null;
  description: string | null;
}

export interface GroupChange {
  kind: 'group';
  target: string;
  before: GroupInfo | null;
  after: GroupInfo | null;
}

export interface GroupRowChange {
  kind: 'group_reply' | 'group_check';
  target: string;
  before: RadiusRow | null;
  after: RadiusRow | null;
}
