import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { readCsv } from '../../src/select/read-csv.js';

const dir = mkdtempSync(join(tmpdir(), 'usrun-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string | Uint8Array, name = `f${++n}.csv`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function errorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('readCsv', () => {
  it('reads a plain comma file with line numbers', () => {
    const path = file('username,email\nalice,a@x.org\nbob,b@x.org\n');
    expect(readCsv(path)).toEqual({
      file: path,
      delimiter: ',',
      columns: ['username', 'email'],
      rows: [
        { line: 2, values: { username: 'alice', email: 'a@x.org' } },
        { line: 3, values: { username: 'bob', email: 'b@x.org' } },
      ],
    });
  });

  it('strips a UTF-8 BOM and accepts CRLF and a missing final newline', () => {
    const path = file('\ufeffusername,first_name\r\njose,José\r\nzoe,Zoë');
    const table = readCsv(path);
    expect(table.columns).toEqual(['username', 'first_name']);
    expect(table.rows).toEqual([
      { line: 2, values: { username: 'jose', first_name: 'José' } },
      { line: 3, values: { username: 'zoe', first_name: 'Zoë' } },
    ]);
  });

  it('reads UTF-16LE with a BOM (Excel "Unicode text")', () => {
    const text = '\ufeffusername\temail\r\nłukasz\tl@x.org\r\n';
    const path = file(Buffer.from(text, 'utf16le'));
    const table = readCsv(path);
    expect(table.delimiter).toBe('\t');
    expect(table.rows).toEqual([{ line: 2, values: { username: 'łukasz', email: 'l@x.org' } }]);
  });

  it('rejects bytes that are not UTF-8, naming the line', () => {
    const path = file(
      Buffer.concat([Buffer.from('username,first_name\nok,Ann\njose,Jos'), Buffer.from([0xe9, 0x0a])]),
    );
    expect(errorOf(() => readCsv(path)).message).toBe(
      `${path}:3: not valid UTF-8 text; save the file as CSV UTF-8`,
    );
  });

  it('keeps delimiters, doubled quotes and newlines inside quoted fields, numbering rows by their first line', () => {
    const path = file(
      'username,description,email\n' +
        'alice,"line one\nline two, with comma",a@x.org\n' +
        'bob,"He said ""hi""",b@x.org\n' +
        'carol,"three\r\nline\r\nnote",c@x.org\n' +
        'dave,,d@x.org\n',
    );
    const table = readCsv(path);
    expect(table.rows.map((r) => [r.line, r.values['username'], r.values['description']])).toEqual([
      [2, 'alice', 'line one\nline two, with comma'],
      [4, 'bob', 'He said "hi"'],
      [5, 'carol', 'three\nline\nnote'],
      [8, 'dave', ''],
    ]);
  });

  it('skips empty and blank lines without shifting line numbers', () => {
    const path = file('\n\nusername,email\n\nalice,a@x.org\n   \n,\n\r\nbob,b@x.org\n\n');
    const table = readCsv(path);
    expect(table.columns).toEqual(['username', 'email']);
    expect(table.rows.map((r) => [r.line, r.values['username']])).toEqual([
      [5, 'alice'],
      [9, 'bob'],
    ]);
  });

  it('detects semicolons and tabs from the header, ignoring delimiters inside quotes', () => {
    const semi = readCsv(file('username;"email, primary";klass\nalice;a@x.org;staff\n'));
    expect(semi.delimiter).toBe(';');
    expect(semi.rows[0]?.values).toEqual({ username: 'alice', 'email, primary': 'a@x.org', klass: 'staff' });

    const tab = readCsv(file('username\temail\nalice\ta@x.org\n'));
    expect(tab.delimiter).toBe('\t');
    expect(tab.rows[0]?.values).toEqual({ username: 'alice', email: 'a@x.org' });
  });

  it('takes an explicit delimiter, by character or by name', () => {
    const pipe = file('username|note\nalice|a, b; c\n');
    expect(readCsv(pipe, { delimiter: '|' }).rows[0]?.values).toEqual({ username: 'alice', note: 'a, b; c' });
    const tabbed = file('username\tnote\nalice\ta,b\n');
    for (const delimiter of ['tab', 'TAB', '\\t', '\t']) {
      expect(readCsv(tabbed, { delimiter }).rows[0]?.values).toEqual({ username: 'alice', note: 'a,b' });
    }
    // Given explicitly, the delimiter wins over what detection would pick.
    const commas = file('username;first;last,note\nalice;a;b,xy\n');
    expect(readCsv(commas, { delimiter: ',' }).columns).toEqual(['username;first;last', 'note']);
    // …but a header read as one column holding another delimiter is the wrong delimiter.
    const semi = file('username;note\nalice;xy\n');
    expect(errorOf(() => readCsv(semi, { delimiter: ',' })).message).toMatch(
      /:1: the header is one column "username;note" \(--delimiter , was given\), but it holds ";": the file looks ;-separated; use --delimiter ';'$/,
    );
    expect(errorOf(() => readCsv(commas, { delimiter: ':' })).message).toBe(
      '--delimiter ":": use one of , ; | tab',
    );
  });

  it('treats an empty or header-only file as no rows', () => {
    expect(readCsv(file(''))).toMatchObject({ columns: [], rows: [] });
    expect(readCsv(file('\ufeff\r\n\r\n'))).toMatchObject({ columns: [], rows: [] });
    expect(readCsv(file('username,email\r\n'))).toMatchObject({ columns: ['username', 'email'], rows: [] });
  });

  it('rejects duplicate (case-insensitive) and empty header names', () => {
    const dup = file('username,email,Email\nalice,a,b\n');
    expect(errorOf(() => readCsv(dup)).message).toBe(`${dup}:1: duplicate column "Email" (columns 2 and 3)`);
    const empty = file('\nusername,,email\nalice,x,a\n');
    expect(errorOf(() => readCsv(empty)).message).toBe(`${empty}:2: column 2 of the header has no name`);
  });

  it('rejects a file that starts with data instead of a header', () => {
    const path = file('alice,alice@example.org\nbob,bob@example.org\n');
    expect(errorOf(() => readCsv(path)).message).toMatch(
      new RegExp(`^${path}:1: no header row: "alice@example.org" looks like data`),
    );
    expect(errorOf(() => readCsv(file('42,alice\n'))).message).toMatch(
      /:1: no header row: "42" looks like data/,
    );
  });

  it('names the line of a row with the wrong number of fields', () => {
    const path = file('username,email,klass\nalice,a@x.org,staff\n\n"bob\nsmith",b@x.org,staff,extra\n');
    expect(errorOf(() => readCsv(path)).message).toBe(`${path}:4: row has 4 fields, header has 3`);
    const short = file('username,email,klass\r\nalice,a@x.org,staff\r\nbob,b@x.org\r\n');
    expect(errorOf(() => readCsv(short)).message).toBe(`${short}:3: row has 2 fields, header has 3`);
  });

  it('names the line where an unclosed quote opens', () => {
    const path = file('username,description\nalice,"fine\nstill fine"\n\nbob,"never\nclosed\ncarol,x\n');
    expect(errorOf(() => readCsv(path)).message).toBe(
      `${path}:5: unclosed quote: a quoted field in the row starting here runs to the end of the file`,
    );
  });

  it('names the line of a stray quote', () => {
    const opening = file('username,last_name\nalice,x\nbob,O"Brien\n');
    expect(errorOf(() => readCsv(opening)).message).toMatch(
      new RegExp(`^${opening}:3: quote inside an unquoted field`),
    );
    const closing = file('username,note\nalice,"a\nb"c\n');
    expect(errorOf(() => readCsv(closing)).message).toMatch(
      new RegExp(`^${closing}:3: text after a closing quote`),
    );
  });

  it('reports a missing file as usage error', () => {
    const path = join(dir, 'missing.csv');
    expect(errorOf(() => readCsv(path)).message).toBe(`cannot read ${path}: no such file`);
  });
});
