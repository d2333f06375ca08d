import { readFileSync } from 'node:fs';
import { CsvError, parse } from 'csv-parse/sync';
import { UsageError } from '../errors.js';

import type { CsvRow, CsvTable } from '../model/csv-table.js';

export type { CsvRow, CsvTable };

export interface ReadCsvOptions {
  /**
   * `,` `;` `|`, or a tab given as `tab` or `\t`. When absent, the header line decides among
   * `,` `;` and tab (the most frequent outside quotes; comma when there is none).
   */
  delimiter?: string | undefined;
}

const DELIMITER_NAMES: Record<string, string> = {
  ',': ',',
  ';': ';',
  '|': '|',
  '\t': '\t',
  '\\t': '\t',
  tab: '\t',
};

/**
 * Reads a CSV file with a header row. Empty lines (and rows whose cells are all blank) are
 * skipped; line breaks inside quoted cells read as `\n`. Every problem with the file is a
 * `UsageError` naming the file and line.
 */
export function readCsv(path: string, options: ReadCsvOptions = {}): CsvTable {
  // csv-parse miscounts lines for CRLF inside quoted fields and takes the first line ending
  // for the whole file; with every line break as \n both are exact (cells read `\n` too).
  const text = decode(readBytes(path), path).replace(/\r\n?/g, '\n');
  const delimiter =
    options.delimiter === undefined ? detectDelimiter(text) : parseDelimiter(options.delimiter);

  const records: { line: number; fields: string[] }[] = [];
  // csv-parse reports the line where a record ends; a record starts after the previous one
  // and after the empty lines skipped since.
  let lastEnd = 0;
  let lastEmpty = 0;
  const nextStart = (empty: number) => lastEnd + 1 + (empty - lastEmpty);
  try {
    parse(text, {
      delimiter,
      record_delimiter: '\n',
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: (fields: string[], context) => {
        records.push({ line: nextStart(context.empty_lines), fields });
        lastEnd = context.lines;
        lastEmpty = context.empty_lines;
        return null;
      },
    });
  } catch (error) {
    if (error instanceof CsvError) {
      const empty = typeof error['empty_lines'] === 'number' ? error['empty_lines'] : lastEmpty;
      throw syntaxError(path, error, nextStart(empty));
    }
    throw error;
  }

  const nonBlank = records.filter((r) => r.fields.some((field) => field.trim() !== ''));
  const header = nonBlank[0];
  if (!header) return { file: path, delimiter, columns: [], rows: [] };
  checkDelimiter(path, header.line, header.fields, delimiter, options.delimiter !== undefined);
  const columns = checkHeader(path, header.line, header.fields);

  const rows: CsvRow[] = [];
  for (const { line, fields } of nonBlank.slice(1)) {
    if (fields.length !== columns.length) {
      throw new UsageError(
        `${path}:${line}: row has ${fields.length} field${fields.length === 1 ? '' : 's'}, header has ${columns.length}`,
      );
    }
    // fromEntries defines own properties, so a column named `__proto__` stays a plain cell.
    rows.push({ line, values: Object.fromEntries(columns.map((column, i) => [column, fields[i] ?? ''])) });
  }
  return { file: path, delimiter, columns, rows };
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new UsageError(`cannot read ${path}: ${why}`);
  }
}

/** UTF-8 (BOM optional), or UTF-16 with a BOM as Excel's "Unicode text" writes it. */
function decode(bytes: Uint8Array, path: string): string {
  const encoding =
    bytes[0] === 0xff && bytes[1] === 0xfe
      ? 'utf-16le'
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? 'utf-16be'
        : 'utf-8';
  try {
    // TextDecoder drops a leading BOM itself.
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    const lossy = new TextDecoder(encoding).decode(bytes);
    const line = lineAt(lossy, lossy.indexOf('\uFFFD'));
    throw new UsageError(
      `${path}:${line}: not valid ${encoding.toUpperCase()} text; save the file as CSV UTF-8`,
    );
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
  }
  return line;
}

function parseDelimiter(given: string): string {
  const delimiter = DELIMITER_NAMES[given.toLowerCase()];
  if (delimiter === undefined) {
    throw new UsageError(`--delimiter ${JSON.stringify(given)}: use one of , ; | tab`);
  }
  return delimiter;
}

/** The most frequent of `,` `;` tab outside quotes on the first non-empty line; comma on a tie. */
function detectDelimiter(text: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
  ]);
  let inQuotes = false;
  let seenContent = false;
  for (const c of text) {
    if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes && c === '\n') {
      if (seenContent) break;
    } else if (!inQuotes) {
      const n = counts.get(c);
      if (n !== undefined) counts.set(c, n + 1);
      if (c.trim() !== '') seenContent = true;
    }
  }
  let best = ',';
  for (const [candidate, n] of counts) if (n > (counts.get(best) ?? 0)) best = candidate;
  return best;
}

const SHOWN: Record<string, string> = { ',': ',', ';': ';', '|': '|', '\t': 'tab' };

/**
 * A header read as one column that holds another delimiter (`username;email` read with `,`):
 * the file uses that delimiter. Said here, with the fix, rather than as "no key column".
 */
function checkDelimiter(path: string, line: number, fields: string[], used: string, given: boolean): void {
  if (fields.length !== 1) return;
  const other = [';', '\t', ',', '|'].find((d) => d !== used && (fields[0] ?? '').includes(d));
  if (other === undefined) return;
  const name = SHOWN[other] ?? other;
  const why = given ? `--delimiter ${SHOWN[used] ?? used} was given` : `${SHOWN[used] ?? used} was detected`;
  throw new UsageError(
    `${path}:${line}: the header is one column ${JSON.stringify(fields[0])} (${why}), but it holds "${name === 'tab' ? '\\t' : name}": ` +
      `the file looks ${name}-separated; use --delimiter ${name === ';' || name === '|' ? `'${name}'` : name}`,
  );
}

function checkHeader(path: string, line: number, fields: string[]): string[] {
  const columns = fields.map((name) => name.trim());
  const seen = new Map<string, number>();
  columns.forEach((name, i) => {
    if (name === '') throw new UsageError(`${path}:${line}: column ${i + 1} of the header has no name`);
    // A number or an address in the first line means the file starts with data.
    if (/^[+-]?\d+([.,]\d+)?$/.test(name) || name.includes('@')) {
      throw new UsageError(
        `${path}:${line}: no header row: ${JSON.stringify(name)} looks like data; ` +
          'the first line must name the columns (e.g. username,email)',
      );
    }
    const key = name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      throw new UsageError(
        `${path}:${line}: duplicate column ${JSON.stringify(name)} (columns ${first + 1} and ${i + 1})`,
      );
    }
    seen.set(key, i);
  });
  return columns;
}

function syntaxError(path: string, error: CsvError, rowStart: number): UsageError {
  const line = typeof error['lines'] === 'number' ? error['lines'] : rowStart;
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new UsageError(
        `${path}:${rowStart}: unclosed quote: a quoted field in the row starting here runs to the end of the file`,
      );
    case 'INVALID_OPENING_QUOTE':
      return new UsageError(
        `${path}:${line}: quote inside an unquoted field; quote the whole field and double inner quotes ("")`,
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
      return new UsageError(
        `${path}:${line}: text after a closing quote; double quotes inside a quoted field ("")`,
      );
    default:
      return new UsageError(`${path}:${line}: ${error.message}`);
  }
}
