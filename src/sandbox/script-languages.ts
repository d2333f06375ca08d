import * as nodeModule from 'node:module';
import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import type { ScriptRunner } from './script-runner.js';
import { ScriptSyntaxError } from './script-syntax-error.js';

/** A script language: how its text is prepared on the host, and what runs it in the sandbox. */
export interface ScriptLanguage {
  /** Its name in messages: `JavaScript`, `TypeScript`, `Python`. */
  readonly name: string;
  /** The smallest `--memory` it runs in, in MB. */
  readonly minMemoryMb: number;
  /**
   * On the host, before the sandbox starts: the text the sandbox compiles, with every line and
   * column where it was in `source`, so error locations point into the admin's own file. Throws
   * `ScriptSyntaxError` for text it cannot read.
   */
  readonly prepare: (source: string, filename: string) => string;
  /** In the sandbox process: what compiles the prepared text and runs it per user. */
  readonly load: () => Promise<ScriptRunner>;
}

const asIs = (source: string) => source;
const javascript = async () => (await import('./javascript-language.js')).javascriptLanguage;

/**
 * Script languages by file extension (lower case, without the dot): the one table a new language
 * is added to. A name with no known extension (stdin, `script`) is JavaScript. A saved script's
 * language is its key here.
 */
export const SCRIPT_LANGUAGES: Readonly<Record<string, ScriptLanguage>> = {
  // isolated-vm's minimum.
  js: { name: 'JavaScript', minMemoryMb: 8, prepare: asIs, load: javascript },
  ts: { name: 'TypeScript', minMemoryMb: 8, prepare: stripTypes, load: javascript },
  py: {
    name: 'Python',
    // Half of --memory is the V8 heap limit, and isolated-vm's minimum is 8 MB.
    minMemoryMb: 16,
    prepare: asIs,
    load: async () => (await import('./python/python-language.js')).pythonLanguage,
  },
};

export const DEFAULT_LANGUAGE = 'js';

/** The language key (`js`, `ts`, `py`) of a file name. */
export function languageKeyOf(filename: string): string {
  const ext = extname(filename).slice(1).toLowerCase();
  return ext in SCRIPT_LANGUAGES ? ext : DEFAULT_LANGUAGE;
}

/** The language of a file name, by its extension. */
export function languageOf(filename: string): ScriptLanguage {
  return SCRIPT_LANGUAGES[languageKeyOf(filename)] as ScriptLanguage;
}

/** `source` ready for the sandbox, prepared as its file name's language says. */
export function prepareScript(source: string, filename: string): string {
  return languageOf(filename).prepare(source, filename);
}

// A script is the body of an async function (`return` and `await` at its top level), which
// TypeScript parses only inside one. The wrapper has its own line, so lines shift by exactly one.
const OPEN = '(async function () {\n';
const CLOSE = '\n})';

/**
 * Node's built-in type stripping (`node:module`, Node ≥ 22.13) in `strip` mode: every type
 * annotation becomes blanks, so lines and columns stay those of the `.ts` file. TypeScript that
 * needs code generated (`enum`, `namespace`, parameter properties) is refused with Node's message.
 */
function stripTypes(source: string, filename: string): string {
  // Looked up, not imported by name: on a Node without it only TypeScript scripts are refused.
  const strip = (nodeModule as Partial<typeof nodeModule>).stripTypeScriptTypes;
  if (typeof strip !== 'function') {
    throw new UsageError(
      `${filename}: TypeScript scripts need Node.js 22.13 or newer (this is ${process.version}); npm install gives usrun its own`,
    );
  }
  const wrapped = `${OPEN}${source}${CLOSE}`;
  let out: string;
  try {
    out = strip(wrapped, { mode: 'strip' });
  } catch (error) {
    throw typeScriptError(error, filename, source);
  }
  if (!out.startsWith(OPEN) || !out.endsWith(CLOSE) || out.length !== wrapped.length) {
    // Positions would no longer match the file: not expected of strip mode, never hidden.
    throw new ScriptSyntaxError(`${filename}: TypeScript: type stripping moved the code; please report it`);
  }
  return out.slice(OPEN.length, out.length - CLOSE.length);
}

/**
 * Node reports where the parser stopped only in the error's stack: `:LINE`, a few lines of the
 * code, and under the line at fault a row of `^` from its column. Read line and column there.
 */
function typeScriptError(error: unknown, filename: string, source: string): Error {
  const e = error as { code?: string; message?: string; stack?: string };
  if (e.code !== 'ERR_INVALID_TYPESCRIPT_SYNTAX' && e.code !== 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') {
    return error instanceof Error ? error : new Error(String(error));
  }
  const what = (e.message ?? 'cannot be read').replace(/\s+/g, ' ').trim();
  const stack = e.stack ?? '';
  const at = /^[^\n]*:(\d+)\n/.exec(stack);
  const end = stack.search(/Error \[ERR_/);
  const caret = /^([ \t]*)\^+[ \t]*$/m.exec(end < 0 ? stack : stack.slice(0, end));
  const lines = source.split('\n');
  if (at && caret) {
    // Minus the wrapper's line.
    let line = Number(at[1]) - 1;
    let col = (caret[1] as string).length + 1;
    let message = what;
    if (line < 1) {
      line = 1;
      col = 1;
    } else if (line > lines.length) {
      // At the wrapper's closing line: the file ended inside a block.
      message = 'Unexpected end of input';
      line = lines.length;
      col = (lines[line - 1] ?? '').length + 1;
    }
    return new ScriptSyntaxError(`${filename}:${line}:${col}: SyntaxError: ${message}`);
  }
  return new ScriptSyntaxError(`${filename}: SyntaxError: ${what}`);
}
