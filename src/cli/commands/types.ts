import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { scriptTypes } from '../../sandbox/script-types.js';
import type { Io } from '../io.js';

const version = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** `usrun types [--out FILE]`: the declarations of the script globals, on stdout or in FILE. */
export function typesCommand(options: { out?: string }, io: Io): string {
  const text = scriptTypes(version);
  if (options.out === undefined) {
    io.out(text);
    return text;
  }
  try {
    writeFileSync(options.out, text);
  } catch (error) {
    throw new UsageError(`cannot write ${options.out}: ${(error as Error).message}`);
  }
  io.err(`${io.errColor.green('✓')} wrote ${options.out}\n`);
  return text;
}
