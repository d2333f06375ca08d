/** A profile's short_name (and so a FreeRADIUS groupname usrun accepts): letters, digits, . _ -, at most 64. */
export const PROFILE_SHORT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
