import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Chalk } from 'chalk';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/io.js';
import { buildProgram } from '../../src/cli/program.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { usrun } from '../helpers/in-process.js';

/**
 * Help as an admin reads it: examples on every command that name real options and files, `help
 * users list`, the environment and filter attributes where they are used, one error prefix, and
 * shell completion generated from the command table.
 */

const silentIo: Io = {
  out: () => undefined,
  err: () => undefined,
  stdoutIsTTY: false,
  stderrIsTTY: false,
  stdinIsTTY: false,
  color: new Chalk({ level: 0 }),
  errColor: new Chalk({ level: 0 }),
  env: {},
  confirm: async () => false,
  readStdin: async () => '',
};
const program = buildProgram(silentIo);

function allCommands(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return [{ path, command }, ...command.commands.flatMap((c) => allCommands(c, [...path, c.name()]))];
}
const leaves = allCommands(program).filter((c) => c.command.commands.length === 0);

/** Shell words of a usrun invocation, up to a redirection, pipe or closing parenthesis. */
function usrunWords(example: string): string[] {
  const start = example.indexOf('usrun ');
  const words: string[] = [];
  let word = '';
  let quote: string | null = null;
  for (const ch of example.slice(start + 'usrun '.length)) {
    if (quote) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === ' ') {
      if (word) words.push(word);
      word = '';
    } else if ('>|)'.includes(ch)) break;
    else word += ch;
  }
  if (word) words.push(word);
  return words;
}

async function helpOf(path: string[]): Promise<string> {
  const r = await usrun([...path, '--help']);
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('help', () => {
  it('every command has examples, each naming a real command, its real options and existing example files', async () => {
    expect(leaves.length).toBeGreaterThan(15);
    for (const { path } of [{ path: [] as string[] }, ...leaves]) {
      const help = await helpOf(path);
      const examples = [...help.matchAll(/^ {2}\$ (.*)$/gm)].map((m) => m[1] ?? '');
      expect(examples.length, `usrun ${path.join(' ')} --help has examples`).toBeGreaterThan(0);
      for (const example of examples.filter((e) => e.includes('usrun '))) {
        const words = usrunWords(example);
        // The longest command path the words start with.
        let command: Command = program;
        let i = 0;
        for (; i < words.length; i++) {
          const sub = command.commands.find((c) => c.name() === words[i]);
          if (!sub) break;
          command = sub;
        }
        expect(command.commands, `"${example}" names a command, not a group`).toEqual([]);
        const flags = command.options.flatMap((o) => [o.long, o.short]);
        for (const word of words.slice(i)) {
          if (word.startsWith('-') && word !== '-')
            expect(flags, `${word} in "${example}"`).toContain(word.split('=')[0]);
          if (word.startsWith('scripts-examples/')) expect(existsSync(join(ROOT, word)), word).toBe(true);
        }
        // A run's script: a file that exists, a saved script (@name) or stdin (-); a resume and
        // a join and a retry of failed items may leave it out.
        const script = words[i] ?? '';
        const scriptOptional =
          words.includes('--resume') || words.includes('--join') || script === '--failed-of';
        if (command.name() === 'run' && !scriptOptional && !/^(@|-$)/.test(script)) {
          expect(existsSync(join(ROOT, script)), `the script of "${example}"`).toBe(true);
        }
      }
    }
  });

  it('the top-level example runs a script that exists in scripts-examples/', async () => {
    const help = await helpOf([]);
    const scripts = [...help.matchAll(/usrun run (\S+\.js)/g)].map((m) => m[1] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      expect(script).toMatch(/^scripts-examples\//);
      expect(existsSync(join(ROOT, script)), script).toBe(true);
    }
  });

  it('`usrun help users list` prints the help of users list', async () => {
    const r = await usrun(['help', 'users', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: usrun users list [options]');
    expect(r.stdout).toContain('--filter <expr>');
    expect(r.stdout).toBe(await helpOf(['users', 'list']));
    const unknown = await usrun(['help', 'users', 'lst']);
    expect(unknown.stderr).toBe('usrun: no command "users lst": see `usrun --help`\n');
    expect(unknown.code).toBe(2);
  });

  it('lists USRUN_DB, USRUN_KEY, NO_COLOR and the filter attributes where they are used', async () => {
    const run = await helpOf(['run']);
    for (const name of ['USRUN_DB', 'USRUN_KEY', 'NO_COLOR'])
      expect(run).toMatch(new RegExp(`^  ${name} `, 'm'));
    for (const path of [['run'], ['users', 'list'], ['filters', 'save']]) {
      const help = await helpOf(path);
      expect(help, path.join(' ')).toContain('Filter attributes');
      for (const attr of ['is_active', 'last_login', 'profiles[', 'attrs[', 'profile_check_attributes[']) {
        expect(help, `${path.join(' ')}: ${attr}`).toContain(attr);
      }
    }
    const list = await helpOf(['runs', 'list']);
    expect(list).toMatch(/^ {2}USRUN_DB /m);
    expect(list).not.toContain('USRUN_KEY'); // only where it is used
  });

  it('every error starts with "usrun:", whoever raised it', async () => {
    const tmp = tempDir('usrun-help-');
    try {
      const missing = join(tmp.dir, 'missing.db');
      const cases = [
        ['users', 'list', '--bogus'], // commander: unknown option
        ['users', 'show'], // commander: missing argument
        ['users', 'list', '--limit', 'x'], // commander: invalid argument
        ['nosuch'], // commander: unknown command
        ['users', 'list', '--db', missing], // usrun: UsageError
        ['completion', 'tcsh'],
      ];
      for (const args of cases) {
        const r = await usrun(args);
        expect(r.stderr, args.join(' ')).toMatch(/^usrun: /);
        expect(r.stderr, args.join(' ')).not.toMatch(/^error:/m);
        expect(r.code, args.join(' ')).toBe(2);
      }
    } finally {
      tmp.cleanup();
    }
  });
});

describe('shell completion', () => {
  const completeBash = (script: string, words: string[]) => {
    const call = `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _usrun; echo "\${COMPREPLY[*]}"`;
    const r = spawnSync('bash', ['-c', `${script}\n${call}`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.stdout.trim();
  };

  it('bash: a valid script that completes commands, subcommands and options of the program', async () => {
    const r = await usrun(['completion', 'bash']);
    expect(r.code).toBe(0);
    const syntax = spawnSync('bash', ['-n'], { input: r.stdout, encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    expect(completeBash(r.stdout, ['usrun', 'ru'])).toBe('run runs');
    expect(completeBash(r.stdout, ['usrun', 'users', ''])).toBe('list show import --help -h');
    expect(completeBash(r.stdout, ['usrun', 'users', 'list', '--f'])).toBe('--filter');
    expect(completeBash(r.stdout, ['usrun', 'runs', 'undo', '3', '--d'])).toBe('--db --dry-run');
    expect(completeBash(r.stdout, ['usrun', 'run', '--db', ''])).toBe(''); // a value: file names
    expect(completeBash(r.stdout, ['usrun', 'init', '--allow'])).toBe('--allow-foreign');
  });

  it('zsh and fish scripts are generated from the same table', async () => {
    const zsh = await usrun(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef usrun\n/);
    expect(zsh.stdout).toContain('complete -o default -F _usrun usrun');
    const fish = await usrun(['completion', 'fish']);
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain(`complete -c usrun -n 'test (__usrun_path) = '\\'''\\''' -a 'run'`);
    expect(fish.stdout).toContain('-l allow-foreign');
    expect(
      spawnSync('bash', ['-n'], { input: zsh.stdout.replace(/^autoload.*$/m, ''), encoding: 'utf8' }).status,
    ).toBe(0);
  });
});
