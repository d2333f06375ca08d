import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { KEY_BYTES } from './attr-cipher.js';

/** Where the attribute key comes from. */
export interface LoadKeyOptions {
  /** `--key-file PATH`: the file holds the key text; surrounding whitespace is ignored. Wins over env. */
  keyFile?: string | undefined;
  /** Environment to read `USRUN_KEY` from; default `process.env`. An empty value counts as unset. */
  env?: NodeJS.ProcessEnv;
}

/** Unpadded base64 length of a key. */
const BASE64_CHARS = Math.ceil((KEY_BYTES * 4) / 3);
const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Reads the 32-byte attribute key from `--key-file` or else env `USRUN_KEY`, written as base64
 * (44 chars, or 43 unpadded; base64url too) or hex (64 chars). Returns null when neither is set.
 * Throws `UsageError` for an unreadable file or a malformed key; the message never contains the key.
 */
export function loadKey(options: LoadKeyOptions): Buffer | null {
  if (options.keyFile !== undefined) {
    const path = options.keyFile;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read key file ${path}: ${describeFsError(error)}`);
    }
    return parseKey(text.trim(), `key file ${path}`);
  }
  const text = (options.env ?? process.env)['USRUN_KEY']?.trim();
  return text ? parseKey(text, 'USRUN_KEY') : null;
}

/** A fresh random key as base64 text, the form `USRUN_KEY` and key files take. */
export function generateKeyText(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

function parseKey(text: string, source: string): Buffer {
  if (text.length === KEY_BYTES * 2 && HEX.test(text)) return Buffer.from(text, 'hex');
  const unpadded = text.endsWith('=') ? text.slice(0, -1) : text;
  if (unpadded.length === BASE64_CHARS) {
    const key = Buffer.from(unpadded, 'base64');
    // Node decodes leniently (skips stray characters, ignores unused low bits); accept only text
    // that is exactly the encoding of the bytes, so a mangled key fails here, not at decrypt time.
    const exact = [key.toString('base64').replace(/=$/, ''), key.toString('base64url')];
    if (key.length === KEY_BYTES && exact.includes(unpadded)) return key;
  }
  throw new UsageError(
    `${source} must be ${KEY_BYTES} bytes as base64 (44 chars) or hex (64 chars); got ${describe(text)}`,
  );
}

/** What the text looks like, without repeating any of it. */
function describe(text: string): string {
  if (text === '') return 'nothing';
  const looksBase64 = text.length === BASE64_CHARS || text.length === BASE64_CHARS + 1;
  if (!looksBase64 && HEX.test(text) && text.length % 2 === 0) {
    return `${text.length / 2} bytes as hex (${text.length} chars)`;
  }
  if (BASE64.test(text) || BASE64URL.test(text)) {
    const bytes = Buffer.from(text, 'base64').length;
    return bytes === KEY_BYTES
      ? `${text.length} chars that are not an exact base64 encoding (check the last character and padding)`
      : `${bytes} bytes as base64 (${text.length} chars)`;
  }
  const bad = [...text.replace(/=+$/, '')].findIndex((c) => !/[A-Za-z0-9+/_-]/.test(c));
  return bad === -1
    ? `${text.length} chars mixing the base64 and base64url alphabets`
    : `${text.length} chars, neither base64 nor hex (unexpected character at position ${bad + 1})`;
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? String(error);
}
