import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { getScript, parseScriptRef, scriptLabel } from '../store/script-library.js';
import type { StoreDriver } from '../store/driver.js';
import type { Io } from './io.js';

/** A script to run, from a file, stdin or the library. */
export interface LoadedScript {
  source: string;
  /** What the journal keeps as `runs.script_path`: the file as given, `<stdin>`, or `name@2.ts`. */
  path: string;
  /** The name in error locations (`file.ts:3:7`); its extension picks the language. */
  filename: string;
  /** The saved script and version, for `@name[@version]`. */
  saved: { name: string; version: number } | null;
  /** How messages name it: the file, `the script from stdin`, `@name@2`. */
  label: string;
}

/** What `runs.script_path` and error locations call a script read from stdin. */
export const STDIN_SCRIPT = '<stdin>';

/** A file's text, or a `UsageError` naming it. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
}

/**
 * The script `arg` names: `-` is stdin, `@name` or `@name@version` a saved script (a file whose
 * name starts with `@` is `./@file`), anything else a file.
 */
export async function loadScript(store: StoreDriver, arg: string, io: Io): Promise<LoadedScript> {
  if (arg === '-') {
    if (io.stdinIsTTY) {
      throw new UsageError(
        '`-` reads the script from stdin, which is a terminal: pipe a script in (… | usrun run - …)',
      );
    }
    const source = await io.readStdin();
    if (source.trim() === '') throw new UsageError('the script from stdin is empty: nothing to run');
    return {
      source,
      path: STDIN_SCRIPT,
      filename: STDIN_SCRIPT,
      saved: null,
      label: 'the script from stdin',
    };
  }
  if (arg.startsWith('@')) {
    const script = await getScript(store, parseScriptRef(arg));
    const filename = `${script.name}@${script.version}.${script.language}`;
    return {
      source: script.text,
      path: filename,
      filename,
      saved: { name: script.name, version: script.version },
      label: scriptLabel(script.name, script.version),
    };
  }
  return { source: readText(arg, 'script'), path: arg, filename: basename(arg), saved: null, label: arg };
}
