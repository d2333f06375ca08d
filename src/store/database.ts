import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * The schema of SPEC §2 as kysely sees it. Timestamps are ISO-8601 UTC strings
 * (`2026-01-31T12:00:00.000Z`) in every dialect's JS representation; booleans are stored as
 * integers in SQLite (0/1) and read back through `toBool`.
 */
export interface UsersTable {
  obj_id: Generated<number>;
  username: string;
  username_length: number | null;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  external_id: string | null;
  klass: string | null;
  is_active: ColumnType<number | boolean, number | boolean, number | boolean>;
  date_joined: string | null;
  first_login: string | null;
  last_login: string | null;
  expiration: string | null;
  last_update: string | null;
  organization_id: number | null;
  avatar_url: string | null;
  description: string | null;
  /** Bumped by triggers on every write to the user or its rows (optimistic concurrency). */
  version: Generated<number>;
}

export interface ProfilesTable {
  id: Generated<number>;
  short_name: string;
  name: string | null;
  description: string | null;
  /** Bumped by triggers on every write to the profile or its own rows (optimistic concurrency). */
  version: Generated<number>;
}

export interface UserProfilesTable {
  user_id: number;
  profile_id: number;
  priority: number;
}

/** `reply_attributes` and `check_attributes`: the shape of FreeRADIUS radreply / radcheck. */
export interface RadiusAttributesTable {
  id: Generated<number>;
  user_id: number;
  attr: string;
  op: string;
  value: string;
}

/** `profile_reply_attributes` / `profile_check_attributes`: FreeRADIUS radgroupreply / radgroupcheck. */
export interface ProfileRadiusAttributesTable {
  id: Generated<number>;
  profile_id: number;
  attr: string;
  op: string;
  value: string;
}

export interface UserAttrsTable {
  user_id: number;
  name: string;
  /** JSON text, or base64 ciphertext when `is_encrypted`. */
  value: string;
  is_encrypted: ColumnType<number | boolean, number | boolean, number | boolean>;
  /** null = never expires. */
  expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface FiltersTable {
  name: string;
  expression: string;
  created_at: string;
}

export interface RunsTable {
  id: Generated<number>;
  kind: string;
  script_path: string | null;
  script_text: string;
  script_sha256: string;
  selection: string;
  params: string;
  os_user: string;
  host: string;
  pid: number | null;
  started_at: string;
  finished_at: string | null;
  status: string;
  counts: string;
  undo_of: number | null;
  /** The saved script a run ran (`usrun run @name@version`), else null (migration 0006). */
  script_name: ColumnType<string | null, string | null | undefined, string | null>;
  script_version: ColumnType<number | null, number | null | undefined, number | null>;
}

/** One version of a saved script (`usrun scripts add`). */
export interface ScriptsTable {
  name: string;
  version: number;
  /** Key of its language in SCRIPT_LANGUAGES (`js`, `ts`, …). */
  language: string;
  text: string;
  sha256: string;
  created_at: string;
  /** `os_user@host` of who added it. */
  created_by: string;
  /** When `scripts rm` removed the name; null while it is in the library. */
  removed_at: string | null;
}

export interface RunItemsTable {
  run_id: number;
  seq: number;
  user_id: number | null;
  username: string | null;
  /** A profile-level item's profile short_name (migration 0005). */
  profile: string | null;
  row_json: string | null;
  status: string;
  error: string | null;
  logs: string | null;
  /** JSON `[{message, location?}]` of the script's calls with no effect (migration 0009). */
  notes: string | null;
  finished_at: string;
}

export interface RunChangesTable {
  run_id: number;
  seq: number;
  n: number;
  /** Null for a profile-level change (migration 0005). */
  user_id: number | null;
  kind: string;
  target: string;
  before: string | null;
  after: string | null;
}

/** A chunk of a run's selection (migration 0007): items with seq in [first_seq, last_seq]. */
export interface RunChunksTable {
  run_id: number;
  chunk: number;
  first_seq: number;
  last_seq: number;
  /** `pending` (never claimed), `claimed` (by `worker` until `lease_until`), `done`. */
  status: string;
  worker: string | null;
  /** ISO-8601 UTC; a claim whose lease is in the past may be taken over. */
  lease_until: string | null;
  done_at: string | null;
}

/** A process working on a run (migration 0007): the first one and every `--join`. */
export interface RunWorkersTable {
  run_id: number;
  worker: string;
  host: string;
  pid: number;
  lease_ms: number;
  started_at: string;
  last_seen: string;
  /** `running`, `finished`, `interrupted`, `failed`. */
  status: string;
  chunks: number;
  items: number;
}

export interface Database {
  users: UsersTable;
  profiles: ProfilesTable;
  user_profiles: UserProfilesTable;
  reply_attributes: RadiusAttributesTable;
  check_attributes: RadiusAttributesTable;
  profile_reply_attributes: ProfileRadiusAttributesTable;
  profile_check_attributes: ProfileRadiusAttributesTable;
  user_attrs: UserAttrsTable;
  filters: FiltersTable;
  scripts: ScriptsTable;
  runs: RunsTable;
  run_items: RunItemsTable;
  run_changes: RunChangesTable;
  run_chunks: RunChunksTable;
  run_workers: RunWorkersTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
