/** Why an encrypted attribute value could not be decrypted. */
export type AttrDecryptReason =
  /** Not a ciphertext this version of usrun can read. */
  | 'format'
  /** Encrypted with a different key (its key id differs from the current key's). */
  | 'wrong-key'
  /** Authentication failed: altered, or copied from another user or attribute name. */
  | 'auth';

/**
 * An encrypted `user_attrs` value that cannot be decrypted. The message names the user id and
 * attribute name, never the plaintext, the ciphertext or the key.
 */
export class AttrDecryptError extends Error {
  override readonly name = 'AttrDecryptError';
  constructor(
    readonly userId: number,
    readonly attrName: string,
    readonly reason: AttrDecryptReason,
    detail: string,
  ) {
    super(`cannot decrypt attribute ${JSON.stringify(attrName)} of user ${userId}: ${detail}`);
  }
}
