/**
 * One change to one user, as the journal stores it, `--json` prints it, the dry-run diff renders
 * it and undo inverts it. `before`/`after` are plain JSON; null means "did not exist".
 *
 * - `field`: target = field name; before/after = the values (timestamps as ISO strings).
 * - `profile`: target = profile short_name; before/after = `{id, priority}` or null.
 * - `reply` / `check`: target = attribute name; before/after = `{id, attr, op, value}` or null
 *   (`id` null for a row being added). Both present = the row's value changed.
 * - `attr`: target = attribute name; before/after = `StoredAttr` or null. Encrypted values are
 *   ciphertext here, never plaintext.
 */
export type Change = FieldChange | ProfileChange | RadiusChange | AttrChange;

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
