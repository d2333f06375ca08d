import { extname } from 'node:path';
import type ivm from 'isolated-vm';
import type { SandboxSetup } from './protocol.js';

type Fn = ivm.Reference<(...args: any[]) => unknown>;

/** What the prelude's `init` returned: its functions, by name, as references. */
export type PreludeApi = (name: string) => Fn;

/**
 * How the sandbox turns a script's text into the function the prelude runs for each user. One
 * entry per language, chosen by the file's extension (`languageOf`).
 */
export interface ScriptLanguage {
  /** Shown in messages: `JavaScript`, `Python`. */
  readonly name: string;
  /** The isolate's V8 heap limit for a `--memory` of `memoryMb` (the rest may go elsewhere). */
  heapMb(memoryMb: number): number;
  /** The smallest `--memory` this language can run in, in MB. */
  readonly minMemoryMb: number;
  /**
   * Compiles `setup.source` in the isolate (after the prelude's `init`) and hands the prelude
   * its per-user function through `api('setScript')`. A syntax error throws `ScriptSyntaxError`
   * before any user runs.
   */
  prepare(isolate: ivm.Isolate, context: ivm.Context, setup: SandboxSetup, api: PreludeApi): Promise<void>;
}

const languages = new Map<string, () => Promise<ScriptLanguage>>([
  ['.js', async () => (await import('./javascript-language.js')).javascriptLanguage],
  ['.mjs', async () => (await import('./javascript-language.js')).javascriptLanguage],
  ['.cjs', async () => (await import('./javascript-language.js')).javascriptLanguage],
  ['.py', async () => (await import('./python/python-language.js')).pythonLanguage],
]);

/** The language of a script file, by its extension; anything unknown is JavaScript. */
export function languageOf(filename: string): Promise<ScriptLanguage> {
  const load = languages.get(extname(filename).toLowerCase()) ?? languages.get('.js');
  return load!();
}

/** True when `filename` is a Python script. */
export function isPython(filename: string): boolean {
  return extname(filename).toLowerCase() === '.py';
}
