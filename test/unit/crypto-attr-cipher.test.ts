import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAttrCipher } from '../../src/crypto/attr-cipher.js';
import { AttrDecryptError } from '../../src/crypto/attr-decrypt-error.js';
import { keyId } from '../../src/crypto/key-id.js';
import { InternalError } from '../../src/errors.js';

const key = randomBytes(32);
const cipher = createAttrCipher(key);
const aad = { userId: 42, name: 'plan' };

/** Runs `fn`, expecting an AttrDecryptError, and returns it. */
function decryptError(fn: () => unknown): AttrDecryptError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AttrDecryptError);
    return error as AttrDecryptError;
  }
  throw new Error('expected decrypt to fail');
}

/** Re-packs a ciphertext after changing its decoded payload. */
function withPayload(ciphertext: string, change: (payload: Buffer) => Buffer): string {
  const [version, id, payload] = ciphertext.split(':');
  return `${version}:${id}:${change(Buffer.from(payload ?? '', 'base64')).toString('base64')}`;
}

describe('createAttrCipher', () => {
  it.each([
    ['ASCII', '{"tier":"gold","seats":3}'],
    ['unicode', '"Zürich — 東京 — 🚀 — \u0000"'],
    ['empty string', ''],
    ['100 KB', randomBytes(75_000).toString('base64')],
  ])('round-trips %s', (_label, plaintext) => {
    const ciphertext = cipher.encrypt(plaintext, aad);
    expect(cipher.decrypt(ciphertext, aad)).toBe(plaintext);
    // A second cipher built from the same key bytes reads it too (nothing kept in memory).
    expect(createAttrCipher(Buffer.from(key)).decrypt(ciphertext, aad)).toBe(plaintext);
  });

  it('writes a versioned, TEXT-safe string', () => {
    const ciphertext = cipher.encrypt('"x"', aad);
    expect(ciphertext).toMatch(/^v1:[0-9a-f]{8}:[A-Za-z0-9+/]+={0,2}$/);
    expect(ciphertext.split(':')[1]).toBe(keyId(key));
    // iv(12) + tag(16) + 3 bytes of ciphertext
    expect(Buffer.from(ciphertext.split(':')[2] ?? '', 'base64')).toHaveLength(31);
  });

  it('uses a fresh IV for every value', () => {
    const first = cipher.encrypt('"same"', aad);
    expect(cipher.encrypt('"same"', aad)).not.toBe(first);
    const ivs = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      ivs.add(
        Buffer.from(cipher.encrypt('"same"', aad).split(':')[2] ?? '', 'base64')
          .subarray(0, 12)
          .toString('hex'),
      );
    }
    expect(ivs.size).toBe(1000);
  });

  it('does not contain the plaintext or its base64', () => {
    const plaintext = '"correct horse battery staple, correct horse battery staple"';
    const ciphertext = cipher.encrypt(plaintext, aad);
    expect(ciphertext).not.toContain('correct horse');
    for (const encoding of ['base64', 'base64url', 'hex'] as const) {
      // Any 12-char slice of the encoded plaintext would be a giveaway, whatever its alignment.
      const encoded = Buffer.from(plaintext).toString(encoding);
      for (let i = 0; i + 12 <= encoded.length; i += 4)
        expect(ciphertext).not.toContain(encoded.slice(i, i + 12));
    }
  });

  it('rejects a flipped bit anywhere in IV, tag or body', () => {
    const ciphertext = cipher.encrypt('"secret value"', aad);
    const length = Buffer.from(ciphertext.split(':')[2] ?? '', 'base64').length;
    for (let i = 0; i < length; i++) {
      const tampered = withPayload(ciphertext, (p) => {
        p[i] = (p[i] ?? 0) ^ 0x01;
        return p;
      });
      const error = decryptError(() => cipher.decrypt(tampered, aad));
      expect(error.reason).toBe('auth');
    }
  });

  it('rejects a truncated or extended payload', () => {
    const ciphertext = cipher.encrypt('"secret value"', aad);
    expect(
      decryptError(() =>
        cipher.decrypt(
          withPayload(ciphertext, (p) => p.subarray(0, -1)),
          aad,
        ),
      ).reason,
    ).toBe('auth');
    expect(
      decryptError(() =>
        cipher.decrypt(
          withPayload(ciphertext, (p) => Buffer.concat([p, Buffer.of(0)])),
          aad,
        ),
      ).reason,
    ).toBe('auth');
    expect(
      decryptError(() =>
        cipher.decrypt(
          withPayload(ciphertext, (p) => p.subarray(0, 27)),
          aad,
        ),
      ).reason,
    ).toBe('format');
  });

  it('rejects another key and says so, without the key or plaintext in the message', () => {
    const other = randomBytes(32);
    const ciphertext = createAttrCipher(other).encrypt('"top secret"', aad);
    const error = decryptError(() => cipher.decrypt(ciphertext, aad));
    expect(error.reason).toBe('wrong-key');
    expect(error.message).toContain(keyId(other));
    expect(error.message).toContain(keyId(key));
    for (const secret of [
      'top secret',
      key.toString('base64'),
      key.toString('hex'),
      other.toString('base64'),
      other.toString('hex'),
    ]) {
      expect(error.message).not.toContain(secret);
    }
  });

  it('still rejects another key when the stored key id is forged to match', () => {
    const ciphertext = createAttrCipher(randomBytes(32)).encrypt('"top secret"', aad);
    const forged = ciphertext.replace(/^v1:[0-9a-f]{8}:/, `v1:${keyId(key)}:`);
    expect(decryptError(() => cipher.decrypt(forged, aad)).reason).toBe('auth');
  });

  it.each([
    ['another user', { userId: 43, name: 'plan' }],
    ['another name', { userId: 42, name: 'Plan' }],
    ['user and name shifted across the separator', { userId: 4, name: '2:plan' }],
  ])('rejects a value moved to %s', (_label, moved) => {
    const ciphertext = cipher.encrypt('"gold"', aad);
    const error = decryptError(() => cipher.decrypt(ciphertext, moved));
    expect(error.reason).toBe('auth');
    expect(error.userId).toBe(moved.userId);
    expect(error.attrName).toBe(moved.name);
    expect(error.message).toBe(
      `cannot decrypt attribute ${JSON.stringify(moved.name)} of user ${moved.userId}: ` +
        'the value was altered, or copied from another user or attribute',
    );
    expect(error.message).not.toContain('gold');
  });

  it.each([
    ['plaintext JSON', '{"tier":"gold"}', 'not a usrun ciphertext'],
    ['empty', '', 'not a usrun ciphertext'],
    ['another version', 'v2:0123abcd:AAAA', 'unsupported ciphertext version v2'],
    ['no key id', 'v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'malformed v1 ciphertext'],
    ['bad base64', 'v1:0123abcd:not*base64!', 'malformed v1 ciphertext'],
    ['extra field', 'v1:0123abcd:AAAA:AAAA', 'malformed v1 ciphertext'],
    ['too short', 'v1:0123abcd:AAAA', 'truncated v1 ciphertext'],
  ])('rejects a malformed value: %s', (_label, value, detail) => {
    const error = decryptError(() => cipher.decrypt(value, aad));
    expect(error.reason).toBe('format');
    expect(error.message).toBe(`cannot decrypt attribute "plan" of user 42: ${detail}`);
  });

  it('refuses a key of the wrong length and a non-integer user id (bugs, not user errors)', () => {
    expect(() => createAttrCipher(randomBytes(16))).toThrow(InternalError);
    expect(() => cipher.encrypt('"x"', { userId: 1.5, name: 'plan' })).toThrow(InternalError);
  });

  it('keeps its own copy of the key', () => {
    const bytes = randomBytes(32);
    const own = createAttrCipher(bytes);
    const ciphertext = own.encrypt('"x"', aad);
    bytes.fill(0);
    expect(own.decrypt(ciphertext, aad)).toBe('"x"');
  });
});

describe('keyId', () => {
  it('is 8 hex chars, stable per key and different across keys', () => {
    expect(keyId(key)).toMatch(/^[0-9a-f]{8}$/);
    expect(keyId(Buffer.from(key))).toBe(keyId(key));
    expect(keyId(randomBytes(32))).not.toBe(keyId(key));
    // sha256("usrun-key-id:" + 32 zero bytes), computed outside usrun.
    expect(keyId(Buffer.alloc(32))).toBe('765af2c2');
  });
});
