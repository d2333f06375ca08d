import { suggestName } from '../model/suggest-name.js';
import { USER_FIELD_NAMES } from '../store/user-fields.js';
import { DATE_FORMATS_HINT, parseDateLiteral } from './date-literal.js';
import {
  attributeType,
  COMPARE_OPS,
  COMPLEX_ATTRIBUTES,
  isComplexAttribute,
  type CompareOp,
  type ComplexAttribute,
  type FilterFieldType,
  type FilterNode,
  type FilterValue,
} from './filter-ast.js';
import { FilterSyntaxError } from './filter-syntax-error.js';

export { FilterSyntaxError } from './filter-syntax-error.js';

type TokenType =
  'lparen' | 'rparen' | 'lbracket' | 'rbracket' | 'string' | 'number' | 'word' | 'symbol' | 'eof';

interface Token {
  readonly type: TokenType;
  readonly start: number;
  readonly end: number;
  /** Decoded string or number literal. */
  readonly value?: string | number;
}

type RawLiteral = string | number | boolean | null;

/** `null` = the user fields; otherwise the complex attribute whose `[...]` we are inside. */
type Scope = ComplexAttribute | null;

const PUNCTUATION: Record<string, TokenType> = {
  '(': 'lparen',
  ')': 'rparen',
  '[': 'lbracket',
  ']': 'rbracket',
};
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const SYMBOL_CHARS = '=!<>&|';
const SYMBOL_AS_OPERATOR: Record<string, CompareOp> = {
  '=': 'eq',
  '==': 'eq',
  '===': 'eq',
  '!=': 'ne',
  '<>': 'ne',
  '!==': 'ne',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
};
const SYMBOL_AS_LOGIC: Record<string, string> = {
  '&&': 'and',
  '&': 'and',
  '||': 'or',
  '|': 'or',
  '!': 'not',
};
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD = /[A-Za-z_][A-Za-z0-9_.]*/y;
const NUMBER_TAIL = /[A-Za-z0-9_.+-]*/y;
/** Beyond these, SQLite's expression depth limit (1000) is near: refuse early, with a position. */
const MAX_DEPTH = 50;
const MAX_CONDITIONS = 200;
const OPERATORS_HINT = 'eq, ne, co, sw, ew, gt, ge, lt, le or pr';
const TEXT_OPS: readonly CompareOp[] = ['co', 'sw', 'ew'];

/**
 * Parses a SCIM filter (RFC 7644 §3.4.2.2 with the extensions of SPEC §3) into a `FilterNode`.
 * Pure: no I/O, no clock (relative dates stay relative). Names are checked against the user
 * field catalog and the complex attributes' sub-attributes, and every literal against its
 * field's type.
 *
 * @throws FilterSyntaxError with the position of the first problem and a caret display.
 */
export function parseFilter(text: string): FilterNode {
  return new Parser(text).parseWhole();
}

class Parser {
  private offset = 0;
  private token: Token;
  private depth = 0;
  private conditions = 0;

  constructor(private readonly text: string) {
    this.token = this.scan();
  }

  parseWhole(): FilterNode {
    if (this.token.type === 'eof') this.fail('empty filter', this.token.start, 1);
    const node = this.parseOr(null);
    const t = this.token;
    if (t.type === 'eof') return node;
    if (t.type === 'rparen') this.fail('unmatched ")"', t.start, 1);
    if (t.type === 'rbracket') this.fail('unmatched "]"', t.start, 1);
    this.fail(
      `unexpected ${this.describe(t)} after a complete expression (expected "and" or "or")${this.logicHint(t)}`,
      t.start,
      t.end - t.start,
    );
  }

  private parseOr(scope: Scope): FilterNode {
    let left = this.parseAnd(scope);
    while (this.isKeyword(this.token, 'or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd(scope) };
    }
    return left;
  }

  private parseAnd(scope: Scope): FilterNode {
    let left = this.parseUnary(scope);
    while (this.isKeyword(this.token, 'and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseUnary(scope) };
    }
    return left;
  }

  private parseUnary(scope: Scope): FilterNode {
    if (this.isKeyword(this.token, 'not')) {
      this.enter(this.next());
      const operand = this.parseUnary(scope);
      this.depth--;
      return { kind: 'not', operand };
    }
    if (this.token.type === 'lparen') {
      const open = this.next();
      this.enter(open);
      const inner = this.parseOr(scope);
      this.expectClose('rparen', ')', open);
      this.depth--;
      return inner;
    }
    if (++this.conditions > MAX_CONDITIONS) {
      this.fail(
        `filter too long: more than ${MAX_CONDITIONS} conditions (pick long lists of users with --csv)`,
        this.token.start,
        Math.max(1, this.token.end - this.token.start),
      );
    }
    return this.parseAttributeExpression(scope);
  }

  /** Counts one level of nesting (a "(", "[" or "not"). */
  private enter(t: Token): void {
    if (++this.depth > MAX_DEPTH)
      this.fail(`filter nested too deeply (more than ${MAX_DEPTH} levels)`, t.start, t.end - t.start);
  }

  private expectClose(type: TokenType, char: string, open: Token): void {
    const t = this.token;
    if (t.type === type) {
      this.next();
      return;
    }
    const opened = `"${this.text[open.start]}" of column ${open.start + 1}`;
    if (t.type === 'eof') this.fail(`missing "${char}" to close the ${opened}`, t.start, 1);
    this.fail(
      `expected "and", "or" or "${char}" (closing the ${opened}), found ${this.describe(t)}${this.logicHint(t)}`,
      t.start,
      t.end - t.start,
    );
  }

  private parseAttributeExpression(scope: Scope): FilterNode {
    const nameToken = this.token;
    if (nameToken.type !== 'word' || this.isKeyword(nameToken, 'and') || this.isKeyword(nameToken, 'or')) {
      const what = scope ? `a sub-attribute of ${scope} (${subAttributeNames(scope)})` : 'an attribute name';
      this.fail(
        `expected ${what}, found ${this.describe(nameToken)}${this.logicHint(nameToken)}`,
        nameToken.start,
        Math.max(1, nameToken.end - nameToken.start),
      );
    }
    this.next();
    const written = this.source(nameToken);
    const name = written.toLowerCase();
    const dot = name.indexOf('.');

    if (scope === null && dot >= 0) {
      const parent = name.slice(0, dot);
      const sub = name.slice(dot + 1);
      if (!isComplexAttribute(parent) || !attributeType(parent, sub)) {
        this.unknownAttribute(written, nameToken, null);
      }
      return { kind: 'complex', attr: parent, filter: this.parseComparison(parent, sub, nameToken) };
    }
    if (scope === null && isComplexAttribute(name)) return this.parseComplex(name, nameToken);
    if (dot < 0 && attributeType(scope, name)) {
      if (this.token.type === 'lbracket') {
        const label = scope ? `${scope}.${name}` : name;
        const lists = Object.keys(COMPLEX_ATTRIBUTES).join(', ');
        this.fail(`${label} has no sub-attributes ("[...]" filters apply to ${lists})`, this.token.start, 1);
      }
      return this.parseComparison(scope, name, nameToken);
    }
    this.unknownAttribute(written, nameToken, scope);
  }

  private parseComplex(attr: ComplexAttribute, nameToken: Token): FilterNode {
    const t = this.token;
    if (this.isKeyword(t, 'pr')) {
      this.next();
      return { kind: 'complex', attr, filter: null };
    }
    if (t.type !== 'lbracket') {
      this.fail(
        `${attr} is a list: filter it like ${attr}[${exampleSubFilter(attr)}] or test it with "${attr} pr"`,
        nameToken.start,
        nameToken.end - nameToken.start,
      );
    }
    const open = this.next();
    this.enter(open);
    if (this.token.type === 'rbracket')
      this.fail(`empty ${attr}[] filter: ${attr}[${exampleSubFilter(attr)}]`, this.token.start, 1);
    const filter = this.parseOr(attr);
    this.expectClose('rbracket', ']', open);
    this.depth--;
    return { kind: 'complex', attr, filter };
  }

  /** The operator and value after an attribute name; `attr` is the name inside `scope`. */
  private parseComparison(scope: Scope, attr: string, nameToken: Token): FilterNode {
    const label = scope ? `${scope}.${attr}` : attr;
    const opToken = this.token;
    if (opToken.type === 'eof')
      this.fail(`missing operator after "${this.source(nameToken)}" (${OPERATORS_HINT})`, opToken.start, 1);
    if (opToken.type === 'symbol') {
      const symbol = this.source(opToken);
      const meant = SYMBOL_AS_OPERATOR[symbol];
      this.fail(
        `unknown operator "${symbol}"${meant ? `: use ${meant}` : ''} (operators: ${OPERATORS_HINT})`,
        opToken.start,
        opToken.end - opToken.start,
      );
    }
    if (opToken.type !== 'word') {
      this.fail(
        `expected an operator after "${this.source(nameToken)}" (${OPERATORS_HINT}), found ${this.describe(opToken)}`,
        opToken.start,
        opToken.end - opToken.start,
      );
    }
    const op = this.source(opToken).toLowerCase();
    this.next();
    if (op === 'pr') return { kind: 'present', attr };
    if (!isCompareOp(op)) {
      this.fail(
        `unknown operator "${this.source(opToken)}" (operators: ${OPERATORS_HINT})`,
        opToken.start,
        opToken.end - opToken.start,
      );
    }
    const valueToken = this.token;
    const raw = this.parseLiteral(op);
    const type = attributeType(scope, attr)!;
    const value = this.checkType(label, type, op, raw, opToken, valueToken);
    return { kind: 'compare', attr, op, value };
  }

  private parseLiteral(op: string): RawLiteral {
    const t = this.token;
    if (t.type === 'eof') this.fail(`missing value after "${op}"`, t.start, 1);
    if (t.type === 'string' || t.type === 'number') {
      this.next();
      return t.value!;
    }
    if (t.type === 'word') {
      const word = this.source(t).toLowerCase();
      if (word === 'true' || word === 'false' || word === 'null') {
        this.next();
        return word === 'null' ? null : word === 'true';
      }
      this.fail(
        `expected a value after "${op}", found ${this.describe(t)}: quote strings, like ${JSON.stringify(this.source(t))}`,
        t.start,
        t.end - t.start,
      );
    }
    this.fail(
      `expected a value after "${op}" (a "string", a number, true, false or null), found ${this.describe(t)}`,
      t.start,
      Math.max(1, t.end - t.start),
    );
  }

  /** Turns a literal into a `FilterValue` that fits the field, or says why it cannot. */
  private checkType(
    label: string,
    type: FilterFieldType,
    op: CompareOp,
    raw: RawLiteral,
    opToken: Token,
    valueToken: Token,
  ): FilterValue {
    const failValue = (reason: string): never =>
      this.fail(reason, valueToken.start, valueToken.end - valueToken.start);
    const failOp = (reason: string): never => this.fail(reason, opToken.start, opToken.end - opToken.start);
    const quoted = JSON.stringify(String(raw));

    if (raw === null) {
      if (op !== 'eq' && op !== 'ne')
        failOp(`null can only be compared with eq or ne (or use "${label} pr")`);
      return { type: 'null' };
    }
    switch (type) {
      case 'string':
        if (typeof raw !== 'string') failValue(`${label} is text: quote the value, like ${quoted}`);
        return { type: 'string', value: raw as string };
      case 'integer':
        if (TEXT_OPS.includes(op))
          failOp(`${op} compares text, and ${label} is a number: use eq, ne, gt, ge, lt or le`);
        if (typeof raw === 'string') {
          if (parseDateLiteral(raw)?.kind === 'relative')
            failValue(`relative date ${quoted} only applies to timestamp fields, and ${label} is a number`);
          const hint =
            raw.trim() !== '' && Number.isFinite(Number(raw)) ? `: write ${raw.trim()} without quotes` : '';
          failValue(`${label} is a number and cannot be compared with the text ${quoted}${hint}`);
        }
        if (typeof raw !== 'number')
          failValue(`${label} is a number and cannot be compared with ${String(raw)}`);
        return { type: 'number', value: raw as number };
      case 'boolean':
        if (op !== 'eq' && op !== 'ne') failOp(`${label} is a boolean: use eq or ne`);
        if (typeof raw === 'string' && parseDateLiteral(raw)?.kind === 'relative')
          failValue(`relative date ${quoted} only applies to timestamp fields, and ${label} is a boolean`);
        if (typeof raw !== 'boolean') failValue(`${label} is a boolean: compare it with true or false`);
        return { type: 'boolean', value: raw as boolean };
      case 'timestamp': {
        if (TEXT_OPS.includes(op)) failOp(`${label} is a timestamp: use eq, ne, gt, ge, lt or le`);
        if (typeof raw !== 'string')
          failValue(`${label} is a timestamp: compare it with a quoted date; ${DATE_FORMATS_HINT}`);
        const date = parseDateLiteral(raw as string);
        if (!date) failValue(`bad date ${quoted} for ${label}: ${DATE_FORMATS_HINT}`);
        return { type: 'date', date: date! };
      }
      case 'radius-value':
        if (typeof raw === 'boolean') failValue(`${label} is text: quote the value, like ${quoted}`);
        if (typeof raw === 'number' && TEXT_OPS.includes(op))
          failValue(`${op} compares text: quote the value, like ${quoted}`);
        return typeof raw === 'number'
          ? { type: 'number', value: raw }
          : { type: 'string', value: raw as string };
      case 'json':
        if (typeof raw === 'boolean') {
          if (op !== 'eq' && op !== 'ne') failOp(`${op} cannot compare with ${String(raw)}: use eq or ne`);
          return { type: 'boolean', value: raw };
        }
        if (typeof raw === 'number') {
          if (TEXT_OPS.includes(op)) failValue(`${op} compares text: quote the value, like ${quoted}`);
          return { type: 'number', value: raw };
        }
        return { type: 'string', value: raw };
    }
  }

  private unknownAttribute(written: string, token: Token, scope: Scope): never {
    const candidates = scope
      ? Object.keys(COMPLEX_ATTRIBUTES[scope])
      : [...USER_FIELD_NAMES, ...Object.keys(COMPLEX_ATTRIBUTES)];
    const lower = written.toLowerCase();
    const close = suggestName(lower, candidates);
    // Nothing a typo away: the names that contain what was written (`name` → first_name, …).
    const containing = lower.length >= 3 ? candidates.filter((c) => c.includes(lower)).slice(0, 4) : [];
    const where = scope ? ` in ${scope}[...] (expected ${subAttributeNames(scope)})` : '';
    const hint = close
      ? ` (did you mean ${close}?)`
      : containing.length > 0
        ? ` (did you mean ${containing.slice(0, -1).join(', ')}${containing.length > 1 ? ' or ' : ''}${containing.at(-1)}?)`
        : '';
    this.fail(`unknown attribute ${printable(written)}${where}${hint}`, token.start, token.end - token.start);
  }

  private next(): Token {
    const current = this.token;
    this.token = this.scan();
    return current;
  }

  private isKeyword(t: Token, keyword: string): boolean {
    return t.type === 'word' && this.source(t).toLowerCase() === keyword;
  }

  private source(t: Token): string {
    return this.text.slice(t.start, t.end);
  }

  private describe(t: Token): string {
    if (t.type === 'eof') return 'end of filter';
    if (t.type === 'string') {
      const literal = JSON.stringify(t.value);
      return literal.length > 40 ? `${literal.slice(0, 40)}…` : literal;
    }
    return printable(this.source(t));
  }

  private logicHint(t: Token): string {
    if (t.type !== 'symbol') return '';
    const meant = SYMBOL_AS_LOGIC[this.source(t)];
    return meant ? `: use ${meant}` : '';
  }

  private fail(reason: string, position: number, length: number): never {
    throw new FilterSyntaxError(reason, this.text, position, Math.max(1, length));
  }

  private scan(): Token {
    const text = this.text;
    while (this.offset < text.length && /\s/.test(text[this.offset]!)) this.offset++;
    const start = this.offset;
    const char = text[start];
    if (char === undefined) return { type: 'eof', start, end: start };
    const punctuation = PUNCTUATION[char];
    if (punctuation) {
      this.offset++;
      return { type: punctuation, start, end: this.offset };
    }
    if (char === '"') return this.scanString(start);
    if (char === '-' || (char >= '0' && char <= '9')) return this.scanNumber(start);
    WORD.lastIndex = start;
    const word = WORD.exec(text);
    if (word) {
      this.offset = start + word[0].length;
      return { type: 'word', start, end: this.offset };
    }
    if (SYMBOL_CHARS.includes(char)) {
      let end = start;
      while (end < text.length && SYMBOL_CHARS.includes(text[end]!)) end++;
      this.offset = end;
      return { type: 'symbol', start, end };
    }
    const codePoint = String.fromCodePoint(text.codePointAt(start)!);
    const hint = char === "'" ? ': strings use double quotes' : '';
    this.fail(`unexpected character ${JSON.stringify(codePoint)}${hint}`, start, codePoint.length);
  }

  private scanString(start: number): Token {
    const text = this.text;
    let value = '';
    let i = start + 1;
    for (;;) {
      const char = text[i];
      if (char === undefined) this.fail('unterminated string', start, text.length - start);
      if (char === '"') break;
      if (char === '\u0000') this.failNul(i, 1);
      if (char !== '\\') {
        value += char;
        i++;
        continue;
      }
      const escape = text[i + 1];
      if (escape === 'u') {
        const hex = /^[0-9A-Fa-f]{0,4}/.exec(text.slice(i + 2))![0];
        if (hex.length < 4)
          this.fail(`bad escape ${printable(`\\u${hex}`)}: \\u needs 4 hex digits`, i, 2 + hex.length);
        const code = parseInt(hex, 16);
        if (code === 0) this.failNul(i, 6);
        value += String.fromCharCode(code);
        i += 6;
        continue;
      }
      const decoded = escape === undefined ? undefined : ESCAPES[escape];
      if (decoded === undefined) {
        const shown = printable(`\\${escape ?? ''}`);
        this.fail(
          `bad escape ${shown} in string (use \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX)`,
          i,
          escape === undefined ? 1 : 2,
        );
      }
      value += decoded;
      i += 2;
    }
    this.offset = i + 1;
    return { type: 'string', start, end: this.offset, value };
  }

  // SQLite's LIKE stops reading a pattern at NUL, so "%\u0000%" would match everyone.
  private failNul(position: number, length: number): never {
    this.fail('strings in a filter cannot contain NUL (\\u0000)', position, length);
  }

  private scanNumber(start: number): Token {
    const text = this.text;
    NUMBER.lastIndex = start;
    const match = NUMBER.exec(text);
    NUMBER_TAIL.lastIndex = start + (match?.[0].length ?? 0);
    const tail = NUMBER_TAIL.exec(text)?.[0] ?? '';
    const end = start + (match?.[0].length ?? 0) + tail.length;
    if (!match || tail !== '')
      this.fail(
        `bad number ${JSON.stringify(text.slice(start, Math.max(end, start + 1)))}`,
        start,
        Math.max(1, end - start),
      );
    const value = Number(match![0]);
    if (!Number.isFinite(value)) this.fail(`number ${match![0]} is out of range`, start, end - start);
    this.offset = end;
    return { type: 'number', start, end, value };
  }
}

/** Filter text quoted for a message: short, and without raw control characters. */
function printable(text: string): string {
  const short = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(short) ? JSON.stringify(short) : `"${short}"`;
}

function isCompareOp(op: string): op is CompareOp {
  return (COMPARE_OPS as readonly string[]).includes(op);
}

function subAttributeNames(scope: ComplexAttribute): string {
  return Object.keys(COMPLEX_ATTRIBUTES[scope]).join(', ');
}

function exampleSubFilter(attr: ComplexAttribute): string {
  const examples: Record<ComplexAttribute, string> = {
    profiles: 'short_name eq "aaa-01"',
    attributes: 'attr eq "Session-Timeout"',
    check_attributes: 'attr eq "Simultaneous-Use"',
    profile_attributes: 'attr eq "Session-Timeout"',
    profile_check_attributes: 'attr eq "Simultaneous-Use"',
    attrs: 'name eq "plan"',
  };
  return examples[attr];
}
