/**
 * A row whose `version` moves on every write to it and to the rows of `children` that name it in
 * `foreignKey` — whoever writes: each dialect's triggers (capabilities) are made from these.
 */
export interface VersionedTable {
  readonly parent: string;
  readonly key: string;
  readonly children: readonly string[];
  readonly foreignKey: string;
}

/** `users.version`: the user's row, memberships, reply and check rows and attrs (migration 0003). */
export const USER_VERSION: VersionedTable = {
  parent: 'users',
  key: 'obj_id',
  children: ['user_profiles', 'reply_attributes', 'check_attributes', 'user_attrs'],
  foreignKey: 'user_id',
};

/** `profiles.version`: the profile's row and its own reply and check rows (migration 0010). */
export const PROFILE_VERSION: VersionedTable = {
  parent: 'profiles',
  key: 'id',
  children: ['profile_reply_attributes', 'profile_check_attributes'],
  foreignKey: 'profile_id',
};
