import type { Command } from 'commander';
import { COMPLEX_ATTRIBUTES } from '../select/filter-ast.js';
import { USER_FIELD_NAMES } from '../store/user-fields.js';

/** The environment variables usrun reads, as each command's help lists the ones it uses. */
export const ENVIRONMENT = {
  USRUN_DB:
    'the database when --db is not given (a SQLite path or a postgres:// / mysql:// URL; default ./usrun.db)',
  USRUN_KEY: 'the 32-byte attribute key, base64 or hex, for encrypted attrs (or --key-file)',
  NO_COLOR: 'set to anything: no colors even on a terminal (colors are only ever used on one)',
} as const;

export type EnvName = keyof typeof ENVIRONMENT;

/** The filter attributes, as `--filter`'s help lists them. */
export function filterAttributesHelp(): string {
  const wrap = (words: readonly string[], indent: string) => {
    const lines: string[] = [];
    let line = '';
    for (const word of words) {
      if (line && line.length + word.length + 1 > 96) {
        lines.push(line);
        line = '';
      }
      line += line ? ` ${word}` : word;
    }
    if (line) lines.push(line);
    return lines.map((l) => indent + l).join('\n');
  };
  const lists = Object.entries(COMPLEX_ATTRIBUTES).map(
    ([name, subs]) => `${name}[${Object.keys(subs).join(' ')}]`,
  );
  return `Filter attributes (SCIM syntax: eq ne co sw ew gt ge lt le pr, and or not, parentheses):
  user fields:
${wrap(USER_FIELD_NAMES, '    ')}
  lists, as name[sub-attribute op value …]:
${wrap(lists, '    ')}
  e.g. 'is_active eq true and last_login lt "-90d"', 'profiles[short_name eq "gold"]'`;
}

/**
 * Adds a command's help epilogue: notes, examples (real commands, checked by the tests against
 * the command's options), the environment variables it reads and, with `filter`, the filter
 * attributes.
 */
export function describeCommand(
  command: Command,
  help: { notes?: string; examples: readonly string[]; env?: readonly EnvName[]; filter?: boolean },
): Command {
  const parts: string[] = [];
  if (help.notes) parts.push(help.notes);
  parts.push(`Examples:\n${help.examples.map((e) => `  $ ${e}`).join('\n')}`);
  if (help.filter) parts.push(filterAttributesHelp());
  const env = help.env ?? [];
  if (env.length > 0) {
    parts.push(`Environment:\n${env.map((name) => `  ${name.padEnd(10)} ${ENVIRONMENT[name]}`).join('\n')}`);
  }
  return command.addHelpText('after', `\n${parts.join('\n\n')}`);
}
