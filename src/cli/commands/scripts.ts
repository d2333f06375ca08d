import { hostname } from 'node:os';
import { basename } from 'node:path';
import { UsageError } from '../../errors.js';
import { osUser } from '../../journal/run-record.js';
import { unifiedDiff } from '../../model/unified-diff.js';
import { languageKeyOf, prepareScript } from '../../sandbox/script-languages.js';
import { ScriptSyntaxError } from '../../sandbox/script-syntax-error.js';
import {
  addScript,
  checkScriptName,
  getScript,
  listScripts,
  parseScriptRef,
  removeScript,
  scriptLabel,
  type SavedScript,
} from '../../store/script-library.js';
import { usingStore } from '../../store/using-store.js';
import { formatTable } from '../format-table.js';
import type { Io } from '../io.js';
import { readText, STDIN_SCRIPT } from '../load-script.js';

type DbOption = { db?: string };

/**
 * `usrun scripts add NAME FILE`: saves FILE's text (`-`: stdin) as the next version of NAME,
 * unless it is the newest version's text already. The language is FILE's extension.
 */
export async function scriptsAddCommand(
  name: string,
  file: string,
  options: DbOption & { json?: boolean },
  io: Io,
): Promise<{ script: SavedScript; created: boolean }> {
  checkScriptName(name);
  if (file === '-' && io.stdinIsTTY) {
    throw new UsageError('`-` reads the script from stdin, which is a terminal: pipe a script in');
  }
  const text = file === '-' ? await io.readStdin() : readText(file, 'script');
  const filename = file === '-' ? STDIN_SCRIPT : basename(file);
  const language = languageKeyOf(filename);
  try {
    // What can be checked without the sandbox (TypeScript's syntax) is checked before saving.
    prepareScript(text, filename);
  } catch (error) {
    if (error instanceof ScriptSyntaxError) throw new UsageError(error.message);
    throw error;
  }
  return usingStore({ location: options.db }, async (store) => {
    const result = await addScript(store, { name, text, language, createdBy: `${osUser()}@${hostname()}` });
    const { script, created } = result;
    const label = scriptLabel(script.name, script.version);
    if (options.json) {
      io.out(`${JSON.stringify({ name: script.name, version: script.version, language, created })}\n`);
    } else if (created) {
      io.out(`${io.color.green('✓')} script ${name} version ${script.version} saved: run it as ${label}\n`);
    } else {
      io.out(
        `script ${name} unchanged: ${file} is the text of its version ${script.version} (${label}); no new version\n`,
      );
    }
    return result;
  });
}

/** `usrun scripts list`: every saved script with its newest version. */
export async function scriptsListCommand(options: DbOption & { json?: boolean }, io: Io): Promise<void> {
  await usingStore({ location: options.db }, async (store) => {
    const scripts = await listScripts(store);
    if (options.json) {
      for (const s of scripts) io.out(`${JSON.stringify(s)}\n`);
      return;
    }
    if (scripts.length === 0) {
      io.err('no saved scripts (save one with `usrun scripts add NAME FILE`)\n');
      return;
    }
    io.out(
      formatTable(
        ['NAME', 'VERSION', 'VERSIONS', 'LANGUAGE', 'ADDED (UTC)', 'BY'],
        scripts.map((s) => [
          s.name,
          String(s.version),
          String(s.versions),
          s.language,
          s.created_at.replace('T', ' ').slice(0, 19),
          s.created_by,
        ]),
        io.color,
      ),
    );
  });
}

/**
 * `usrun scripts show NAME[@VERSION]`: the text alone on stdout (so it can be saved to a file
 * again), what it is on stderr; `--json`: one object with both.
 */
export async function scriptsShowCommand(
  ref: string,
  options: DbOption & { json?: boolean },
  io: Io,
): Promise<void> {
  const parsed = parseScriptRef(ref);
  await usingStore({ location: options.db }, async (store) => {
    const script = await getScript(store, parsed);
    if (options.json) {
      io.out(`${JSON.stringify(script)}\n`);
      return;
    }
    io.err(
      `${scriptLabel(script.name, script.version)} (${script.language}), added ${script.created_at} by ${script.created_by}\n`,
    );
    io.out(script.text.endsWith('\n') || script.text === '' ? script.text : `${script.text}\n`);
  });
}

/** `usrun scripts diff NAME V1 V2`: a unified diff from version V1 to V2. */
export async function scriptsDiffCommand(
  name: string,
  from: number,
  to: number,
  options: DbOption,
  io: Io,
): Promise<string> {
  checkScriptName(name);
  return usingStore({ location: options.db }, async (store) => {
    const a = await getScript(store, { name, version: from });
    const b = await getScript(store, { name, version: to });
    const label = (s: SavedScript) => `${scriptLabel(s.name, s.version)} (${s.language})`;
    const diff = unifiedDiff(a.text, b.text, label(a), label(b));
    if (diff === '') {
      io.err(
        `${scriptLabel(name, from)} and ${scriptLabel(name, to)} have the same text${a.language === b.language ? '' : ` (languages ${a.language} and ${b.language})`}\n`,
      );
    }
    io.out(diff);
    return diff;
  });
}

/** `usrun scripts rm NAME`: removes every version of NAME from the library. */
export async function scriptsRmCommand(name: string, options: DbOption, io: Io): Promise<void> {
  const bare = name.replace(/^@/, '');
  await usingStore({ location: options.db }, async (store) => {
    const n = await removeScript(store, bare);
    io.out(
      `${io.color.green('✓')} script ${bare} removed (${n} version${n === 1 ? '' : 's'}); runs that ran it keep its name, version and text in the journal\n`,
    );
  });
}
