import { createHash } from 'node:crypto';

/**
 * A short, non-secret fingerprint of a key: the first 8 hex characters of
 * sha256("usrun-key-id:" + key). Stored beside ciphertexts so a failed decrypt can tell
 * "encrypted with another key" from "altered".
 */
export function keyId(key: Buffer): string {
  // The prefix keeps this hash from ever equalling a plain sha256 of the key used elsewhere.
  return createHash('sha256').update('usrun-key-id:').update(key).digest('hex').slice(0, 8);
}
