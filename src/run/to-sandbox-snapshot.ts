import type { UserSnapshot } from '../sandbox/protocol.js';
import type { StoredUser } from '../store/load-users.js';

/** Decrypts attr values for the script; throws with a message naming the attribute on failure. */
export interface AttrDecrypter {
  decrypt(ciphertext: string, aad: { userId: number; name: string }): string;
}

/**
 * What the script may see of a stored user: live (unexpired) attrs only, encrypted ones
 * decrypted when the run has a key and marked unreadable (json null) when it has none.
 */
export function toSandboxSnapshot(
  user: StoredUser,
  nowIso: string,
  cipher: AttrDecrypter | null,
): UserSnapshot {
  return {
    fields: user.fields,
    profiles: user.profiles,
    attributes: user.attributes,
    check_attributes: user.check_attributes,
    attrs: user.attrs
      .filter((a) => a.expires_at === null || a.expires_at > nowIso)
      .map((a) => ({
        name: a.name,
        json: !a.is_encrypted
          ? a.value
          : cipher
            ? cipher.decrypt(a.value, { userId: user.id, name: a.name })
            : null,
        encrypted: a.is_encrypted,
        expires_at: a.expires_at,
      })),
  };
}
