import { extname } from 'node:path';
import type ivm from 'isolated-vm';
import type { SandboxSetup } from './protocol.js';

type Fn = ivm.Reference<(...args: any[]) => unknown>;

/** What the prelude's `init` returned: its functions, by name, as references. */
export type PreludeApi = (name: string) => Fn;

/**
 * How the sandbox turns a script's text into the function the prelude runs for each user
 * (loaded in the sandbox process only).
 */
export interface ScriptLanguage {
  /** The isolate's V8 heap limit for a `--memory` of `memoryMb` (the rest may go elsewhere). */
  heapMb(memoryMb: number): number;
  /**
   * Compiles `setup.source` in the isolate (after the prelude's `init`) and hands the prelude
   * its per-user function. A syntax error throws `ScriptSyntaxError` before any user runs.
   */
  prepare(isolate: ivm.Isolate, context: ivm.Context, setup: SandboxSetup, api: PreludeApi): Promise<void>;
}

/** One row of the language table. */
export interface LanguageEntry {
  /** Shown in messages: `JavaScript`, `Python`. */
  readonly name: string;
  /** The smallest `--memory` this language runs in, in MB. */
  readonly minMemoryMb: number;
  load(): Promise<ScriptLanguage>;
}

const JAVASCRIPT: LanguageEntry = {
  name: 'JavaScript',
  minMemoryMb: 8, // isolated-vm's minimum
  load: async () => (await import('./javascript-language.js')).javascriptLanguage,
};

/** Script languages by file extension; any other extension is JavaScript. */
const LANGUAGES = new Map<string, LanguageEntry>([
  ['.js', JAVASCRIPT],
  [
    '.py',
    {
      name: 'Python',
      // Half of --memory is the V8 heap limit, and isolated-vm's minimum is 8 MB.
      minMemoryMb: 16,
      load: async () => (await import('./python/python-language.js')).pythonLanguage,
    },
  ],
]);

/** The language of a script file, by its extension. */
export function languageOf(filename: string): LanguageEntry {
  return LANGUAGES.get(extname(filename).toLowerCase()) ?? JAVASCRIPT;
}
