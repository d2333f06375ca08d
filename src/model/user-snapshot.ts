/** A user's data as both sides of the sandbox and the store see it: plain JSON. */

/** A user's fields as the script sees them: timestamps as ISO-8601 UTC strings or null. */
export type UserFieldValues = Record<string, string | number | boolean | null>;

export interface ProfileRef {
  id: number;
  short_name: string;
  name: string | null;
  priority: number;
}

export interface RadiusAttribute {
  /** Row id in the database; null for a row the script added. */
  id: number | null;
  attr: string;
  op: string;
  value: string;
}
