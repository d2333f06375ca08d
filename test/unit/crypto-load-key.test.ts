import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { generateKeyText, loadKey } from '../../src/crypto/load-key.js';
import { UsageError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'usrun-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = randomBytes(32);

function keyFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The 43rd base64 char carries 2 unused low bits: set one, which Node's decoder would ignore. */
function nonCanonical(base64url: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(base64url.charAt(42));
  return base64url.slice(0, 42) + alphabet.charAt(last | 1);
}

/** Runs `fn`, expecting a UsageError, and returns its message. */
function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('loadKey', () => {
  it.each([
    ['base64', key.toString('base64')],
    ['base64 without padding', key.toString('base64').replace(/=$/, '')],
    ['base64url', key.toString('base64url')],
    ['base64url with padding', `${key.toString('base64url')}=`],
    ['hex', key.toString('hex')],
    ['upper-case hex', key.toString('hex').toUpperCase()],
    ['text with surrounding whitespace', `  ${key.toString('base64')}\n`],
  ])('reads USRUN_KEY as %s', (_label, text) => {
    expect(loadKey({ env: { USRUN_KEY: text } })).toEqual(key);
  });

  it('reads a key file with a trailing newline', () => {
    expect(loadKey({ keyFile: keyFile('newline.key', `${key.toString('base64')}\n`), env: {} })).toEqual(key);
    expect(loadKey({ keyFile: keyFile('crlf.key', `${key.toString('hex')}\r\n`), env: {} })).toEqual(key);
  });

  it('prefers --key-file over USRUN_KEY', () => {
    const other = randomBytes(32);
    const path = keyFile('wins.key', other.toString('base64'));
    expect(loadKey({ keyFile: path, env: { USRUN_KEY: key.toString('base64') } })).toEqual(other);
    // Even a broken env value is ignored once a file is given.
    expect(loadKey({ keyFile: path, env: { USRUN_KEY: 'garbage' } })).toEqual(other);
  });

  it('returns null when neither is set (an empty USRUN_KEY counts as unset)', () => {
    expect(loadKey({ env: {} })).toBeNull();
    expect(loadKey({ env: { USRUN_KEY: '' } })).toBeNull();
    expect(loadKey({ env: { USRUN_KEY: '  \n' } })).toBeNull();
  });

  it('reads process.env when no env is passed', () => {
    vi.stubEnv('USRUN_KEY', key.toString('hex'));
    try {
      expect(loadKey({})).toEqual(key);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each([
    ['31 bytes as base64', randomBytes(31).toString('base64'), 'got 31 bytes as base64 (44 chars)'],
    ['33 bytes as base64', randomBytes(33).toString('base64'), 'got 33 bytes as base64 (44 chars)'],
    ['16 bytes as hex', randomBytes(16).toString('hex'), 'got 16 bytes as hex (32 chars)'],
    ['63 hex chars', key.toString('hex').slice(0, 63), 'got 47 bytes as base64 (63 chars)'],
    [
      'a passphrase',
      'correct horse battery staple',
      'got 28 chars, neither base64 nor hex (unexpected character at position 8)',
    ],
    [
      'mixed alphabets',
      `+_${key.toString('base64').slice(2)}`,
      'got 44 chars mixing the base64 and base64url alphabets',
    ],
    ['base64 with double padding', `${key.toString('base64url')}==`, 'not an exact base64 encoding'],
    ['non-canonical base64', nonCanonical(key.toString('base64url')), 'not an exact base64 encoding'],
  ])('rejects %s without echoing it', (_label, text, detail) => {
    const message = usageMessage(() => loadKey({ env: { USRUN_KEY: text } }));
    expect(message).toContain('USRUN_KEY must be 32 bytes as base64 (44 chars) or hex (64 chars); ');
    expect(message).toContain(detail);
    expect(message).not.toContain(text);
    expect(message).not.toContain(text.slice(0, 8));
  });

  it('rejects a malformed or empty key file, naming the file', () => {
    const path = keyFile('short.key', `${randomBytes(31).toString('hex')}\n`);
    expect(usageMessage(() => loadKey({ keyFile: path, env: {} }))).toBe(
      `key file ${path} must be 32 bytes as base64 (44 chars) or hex (64 chars); got 31 bytes as hex (62 chars)`,
    );
    const empty = keyFile('empty.key', '\n');
    expect(usageMessage(() => loadKey({ keyFile: empty, env: {} }))).toContain(
      `key file ${empty} must be 32 bytes`,
    );
  });

  it('rejects a missing or unreadable key file, naming the path', () => {
    const missing = join(dir, 'missing.key');
    expect(usageMessage(() => loadKey({ keyFile: missing, env: { USRUN_KEY: key.toString('hex') } }))).toBe(
      `cannot read key file ${missing}: no such file`,
    );
    expect(usageMessage(() => loadKey({ keyFile: dir, env: {} }))).toBe(
      `cannot read key file ${dir}: it is a directory`,
    );
    if (process.getuid?.() !== 0) {
      const locked = keyFile('locked.key', key.toString('base64'));
      chmodSync(locked, 0o000);
      expect(usageMessage(() => loadKey({ keyFile: locked, env: {} }))).toBe(
        `cannot read key file ${locked}: permission denied`,
      );
    }
  });
});

describe('generateKeyText', () => {
  it('makes a fresh 44-char base64 key that loadKey accepts', () => {
    const text = generateKeyText();
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(generateKeyText()).not.toBe(text);
    expect(loadKey({ env: { USRUN_KEY: text } })).toEqual(Buffer.from(text, 'base64'));
  });
});
