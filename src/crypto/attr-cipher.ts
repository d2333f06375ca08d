import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InternalError } from '../errors.js';
import { AttrDecryptError, type AttrDecryptReason } from './attr-decrypt-error.js';
import { keyId } from './key-id.js';

/** Bytes of an AES-256 key. */
export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What a ciphertext is bound to: it decrypts only for the same user id and attribute name. */
export interface AttrBinding {
  userId: number;
  name: string;
}

/** Encrypts and decrypts `user_attrs` values with one key. */
export interface AttrCipher {
  /** The key's fingerprint (see `keyId`), also embedded in every ciphertext. */
  readonly keyId: string;
  /**
   * Encrypts with AES-256-GCM and a fresh random IV. Returns
   * `v1:<keyId>:<base64(iv | tag | ciphertext)>`, safe in a TEXT column.
   */
  encrypt(plaintext: string, aad: AttrBinding): string;
  /** Reverses `encrypt`. Throws `AttrDecryptError` when the value cannot be authenticated. */
  decrypt(ciphertext: string, aad: AttrBinding): string;
}

/** Builds a cipher for a 32-byte key (as returned by `loadKey`). */
export function createAttrCipher(key: Buffer): AttrCipher {
  if (key.length !== KEY_BYTES) throw new InternalError(`attribute key must be ${KEY_BYTES} bytes`);
  // A private copy: a caller zeroing or reusing its buffer must not change this cipher's key.
  const secret = Buffer.from(key);
  const id = keyId(secret);

  return {
    keyId: id,

    encrypt(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', secret, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(aad));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const packed = Buffer.concat([iv, cipher.getAuthTag(), body]);
      return `${VERSION}:${id}:${packed.toString('base64')}`;
    },

    decrypt(ciphertext, aad) {
      const parts = ciphertext.split(':');
      const [version, storedKeyId, payload] = parts;
      if (version === undefined || parts.length < 2 || !/^v\d+$/.test(version)) {
        refuse(aad, 'format', 'not a usrun ciphertext');
      }
      if (version !== VERSION) refuse(aad, 'format', `unsupported ciphertext version ${version}`);
      if (
        parts.length !== 3 ||
        storedKeyId === undefined ||
        !/^[0-9a-f]{8}$/.test(storedKeyId) ||
        payload === undefined ||
        !BASE64.test(payload)
      ) {
        refuse(aad, 'format', `malformed ${VERSION} ciphertext`);
      }
      const packed = Buffer.from(payload, 'base64');
      if (packed.length < IV_BYTES + TAG_BYTES) refuse(aad, 'format', `truncated ${VERSION} ciphertext`);
      if (storedKeyId !== id) {
        refuse(
          aad,
          'wrong-key',
          `it was encrypted with another key (key id ${storedKeyId}; the current key is ${id})`,
        );
      }

      const decipher = createDecipheriv('aes-256-gcm', secret, packed.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(associatedData(aad));
      decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      } catch {
        refuse(aad, 'auth', 'the value was altered, or copied from another user or attribute');
      }
      return plain.toString('utf8');
    },
  };
}

function refuse(aad: AttrBinding, reason: AttrDecryptReason, detail: string): never {
  throw new AttrDecryptError(aad.userId, aad.name, reason, detail);
}

function associatedData({ userId, name }: AttrBinding): Buffer {
  // A non-integer id would print as e.g. "1e+21" and could collide; ids are always integers.
  if (!Number.isSafeInteger(userId)) throw new InternalError(`attribute user id must be an integer`);
  // The name comes last, so a ':' inside it cannot make two bindings print alike.
  return Buffer.from(`usrun:attr:${VERSION}:${userId}:${name}`, 'utf8');
}
