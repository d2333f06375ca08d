import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { dateLiteralToIso, parseDateLiteral } from '../../src/select/date-literal.js';
import type { FilterNode, FilterValue } from '../../src/select/filter-ast.js';
import { filterComparesAttrValues } from '../../src/select/filter-compares-attr-values.js';
import { FilterSyntaxError, parseFilter } from '../../src/select/parse-filter.js';

const str = (value: string): FilterValue => ({ type: 'string', value });
const num = (value: number): FilterValue => ({ type: 'number', value });
const cmp = (attr: string, op: string, value: FilterValue): FilterNode =>
  ({ kind: 'compare', attr, op, value }) as FilterNode;
const a = cmp('username', 'eq', str('a'));
const b = cmp('email', 'eq', str('b'));
const c = cmp('klass', 'eq', str('c'));

function syntaxError(text: string): FilterSyntaxError {
  try {
    parseFilter(text);
  } catch (error) {
    expect(error).toBeInstanceOf(FilterSyntaxError);
    return error as FilterSyntaxError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to fail`);
}

describe('parseFilter: structure and precedence', () => {
  it('binds and tighter than or', () => {
    expect(parseFilter('username eq "a" or email eq "b" and klass eq "c"')).toEqual({
      kind: 'or',
      left: a,
      right: { kind: 'and', left: b, right: c },
    });
    expect(parseFilter('username eq "a" and email eq "b" or klass eq "c"')).toEqual({
      kind: 'or',
      left: { kind: 'and', left: a, right: b },
      right: c,
    });
  });

  it('binds not tighter than and, and applies it to groups or single expressions', () => {
    expect(parseFilter('not username eq "a" and email eq "b"')).toEqual({
      kind: 'and',
      left: { kind: 'not', operand: a },
      right: b,
    });
    expect(parseFilter('not (username eq "a" or email eq "b")')).toEqual({
      kind: 'not',
      operand: { kind: 'or', left: a, right: b },
    });
    expect(parseFilter('not not username eq "a"')).toEqual({
      kind: 'not',
      operand: { kind: 'not', operand: a },
    });
  });

  it('lets parentheses override precedence, nested', () => {
    expect(
      parseFilter('((username eq "a" or email eq "b")) and (klass eq "c" or not (email eq "b"))'),
    ).toEqual({
      kind: 'and',
      left: { kind: 'or', left: a, right: b },
      right: { kind: 'or', left: c, right: { kind: 'not', operand: b } },
    });
  });

  it('chains or/and left to right', () => {
    expect(parseFilter('username eq "a" or email eq "b" or klass eq "c"')).toEqual({
      kind: 'or',
      left: { kind: 'or', left: a, right: b },
      right: c,
    });
  });

  it('reads keywords, operators and attribute names case-insensitively', () => {
    expect(parseFilter('UserName EQ "a" AND NOT (Is_Active Eq FALSE) Or EMAIL pr')).toEqual({
      kind: 'or',
      left: {
        kind: 'and',
        left: a,
        right: { kind: 'not', operand: cmp('is_active', 'eq', { type: 'boolean', value: false }) },
      },
      right: { kind: 'present', attr: 'email' },
    });
  });

  it('accepts any whitespace between tokens, and none around punctuation', () => {
    expect(parseFilter('\n\tusername\teq\n"a"\r\n')).toEqual(a);
    expect(parseFilter('not(username eq "a")or(email eq "b")')).toEqual({
      kind: 'or',
      left: { kind: 'not', operand: a },
      right: b,
    });
  });
});

describe('parseFilter: operators and literals', () => {
  it.each(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'])('parses %s on a string field', (op) => {
    expect(parseFilter(`email ${op} "x"`)).toEqual(cmp('email', op, str('x')));
  });

  it('parses pr', () => {
    expect(parseFilter('last_login pr')).toEqual({ kind: 'present', attr: 'last_login' });
  });

  it('decodes every JSON escape', () => {
    const node = parseFilter(String.raw`description eq "q\"b\\s\/f\bb\ff\nn\rr\tt\u00e9\ud83d\ude00"`);
    expect(node).toEqual(cmp('description', 'eq', str('q"b\\s/f\bb\ff\nn\rr\tt\u00e9\u{1f600}')));
  });

  it('reads JSON numbers: negative, decimal, exponent', () => {
    for (const [text, value] of [
      ['0', 0],
      ['42', 42],
      ['-7', -7],
      ['1.5', 1.5],
      ['-1.25e3', -1250],
      ['2E-2', 0.02],
      ['3e+1', 30],
    ] as const) {
      expect(parseFilter(`organization_id eq ${text}`)).toEqual(cmp('organization_id', 'eq', num(value)));
    }
  });

  it('reads true, false and null in any case', () => {
    expect(parseFilter('is_active eq TRUE')).toEqual(
      cmp('is_active', 'eq', { type: 'boolean', value: true }),
    );
    expect(parseFilter('is_active ne false')).toEqual(
      cmp('is_active', 'ne', { type: 'boolean', value: false }),
    );
    expect(parseFilter('email eq Null')).toEqual(cmp('email', 'eq', { type: 'null' }));
    expect(parseFilter('organization_id ne null')).toEqual(cmp('organization_id', 'ne', { type: 'null' }));
  });

  it('keeps relative dates relative and normalizes absolute ones to UTC', () => {
    expect(parseFilter('last_login lt "-90d"')).toEqual(
      cmp('last_login', 'lt', { type: 'date', date: { kind: 'relative', offsetMs: -90 * 86_400_000 } }),
    );
    expect(parseFilter('expiration lt "+7d"')).toEqual(
      cmp('expiration', 'lt', { type: 'date', date: { kind: 'relative', offsetMs: 7 * 86_400_000 } }),
    );
    expect(parseFilter('date_joined ge "2026-01-31T12:00:00+02:00"')).toEqual(
      cmp('date_joined', 'ge', { type: 'date', date: { kind: 'absolute', iso: '2026-01-31T10:00:00.000Z' } }),
    );
  });

  it('parses complex attributes with their own and/or/not/parens', () => {
    expect(parseFilter('profiles[short_name eq "aaa-01" and not (priority gt 1 or name co "x")]')).toEqual({
      kind: 'complex',
      attr: 'profiles',
      filter: {
        kind: 'and',
        left: cmp('short_name', 'eq', str('aaa-01')),
        right: {
          kind: 'not',
          operand: { kind: 'or', left: cmp('priority', 'gt', num(1)), right: cmp('name', 'co', str('x')) },
        },
      },
    });
    expect(parseFilter('Attributes[attr eq "Session-Timeout" and value gt 3600]')).toEqual({
      kind: 'complex',
      attr: 'attributes',
      filter: {
        kind: 'and',
        left: cmp('attr', 'eq', str('Session-Timeout')),
        right: cmp('value', 'gt', num(3600)),
      },
    });
    expect(parseFilter('check_attributes[op eq "=="]')).toEqual({
      kind: 'complex',
      attr: 'check_attributes',
      filter: cmp('op', 'eq', str('==')),
    });
    expect(parseFilter('attrs[name eq "plan" and expires_at pr]')).toEqual({
      kind: 'complex',
      attr: 'attrs',
      filter: {
        kind: 'and',
        left: cmp('name', 'eq', str('plan')),
        right: { kind: 'present', attr: 'expires_at' },
      },
    });
  });

  it('accepts the dotted shorthand and "pr" on a complex attribute', () => {
    expect(parseFilter('profiles.short_name eq "x"')).toEqual(parseFilter('profiles[short_name eq "x"]'));
    expect(parseFilter('attrs.value eq true')).toEqual(parseFilter('attrs[value eq true]'));
    expect(parseFilter('profiles pr')).toEqual({ kind: 'complex', attr: 'profiles', filter: null });
  });

  it('types attrs values by their literal and RADIUS values as text or number', () => {
    expect(parseFilter('attrs[value eq "gold"]')).toEqual({
      kind: 'complex',
      attr: 'attrs',
      filter: cmp('value', 'eq', str('gold')),
    });
    expect(parseFilter('attrs[value ge -2.5]')).toEqual({
      kind: 'complex',
      attr: 'attrs',
      filter: cmp('value', 'ge', num(-2.5)),
    });
    expect(parseFilter('attrs[value eq null]')).toEqual({
      kind: 'complex',
      attr: 'attrs',
      filter: cmp('value', 'eq', { type: 'null' }),
    });
    expect(parseFilter('attributes[value sw "10."]')).toEqual({
      kind: 'complex',
      attr: 'attributes',
      filter: cmp('value', 'sw', str('10.')),
    });
  });
});

describe('parseFilter: errors name their position', () => {
  it('renders the caret display under the expression', () => {
    const error = syntaxError('emial eq "x"');
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.position).toBe(0);
    expect(error.length).toBe(5);
    expect(error.message).toBe(
      'filter: unknown attribute "emial" (did you mean email?) at column 1\n  emial eq "x"\n  ^^^^^',
    );
  });

  it('with nothing a typo away, suggests the attributes whose names contain the word', () => {
    expect(syntaxError('name co "ann"').message).toMatch(
      /^filter: unknown attribute "name" \(did you mean username, username_length, first_name or last_name\?\) at column 1/,
    );
    expect(syntaxError('zzzq eq 1').message).toMatch(/^filter: unknown attribute "zzzq" at column 1/);
  });

  // [filter, position, length, part of the reason]
  const cases: [string, number, number, string][] = [
    ['', 0, 1, 'empty filter'],
    ['   ', 3, 1, 'empty filter'],
    ['email eq "x" ; drop', 13, 1, 'unexpected character ";"'],
    ["email eq 'x'", 9, 1, 'strings use double quotes'],
    ['email eq "abc', 9, 4, 'unterminated string'],
    ['email eq "a\\qb"', 11, 2, 'bad escape "\\q"'],
    ['email eq "\\u12"', 10, 4, 'bad escape "\\u12": \\u needs 4 hex digits'],
    ['email eq "x\\', 11, 1, 'bad escape'],
    ['email co "a\\u0000b"', 11, 6, 'strings in a filter cannot contain NUL'],
    ['email co "a\u0000b"', 11, 1, 'strings in a filter cannot contain NUL'],
    ['(email eq "x"', 13, 1, 'missing ")" to close the "(" of column 1'],
    ['(email eq "x" klass eq "y")', 14, 5, 'expected "and", "or" or ")"'],
    ['profiles[short_name eq "x"', 26, 1, 'missing "]"'],
    ['profiles[short_name eq "x") ', 26, 1, 'expected "and", "or" or "]"'],
    ['profiles[]', 9, 1, 'empty profiles[] filter'],
    ['email equals "x"', 6, 6, 'unknown operator "equals"'],
    ['email = "x"', 6, 1, 'unknown operator "=": use eq'],
    ['email >= "x"', 6, 2, 'use ge'],
    ['email', 5, 1, 'missing operator after "email"'],
    ['email "x"', 6, 3, 'expected an operator'],
    ['emial eq "x"', 0, 5, 'unknown attribute "emial"'],
    [
      'profiles[foo eq 1]',
      9,
      3,
      'unknown attribute "foo" in profiles[...] (expected id, short_name, name, description, priority)',
    ],
    ['attrs[username eq "x"]', 6, 8, 'unknown attribute "username" in attrs[...]'],
    ['profiles.foo eq "x"', 0, 12, 'unknown attribute "profiles.foo"'],
    ['email.x eq "x"', 0, 7, 'unknown attribute "email.x"'],
    ['profiles[short_name[x eq 1]]', 19, 1, 'profiles.short_name has no sub-attributes'],
    [
      'email[value eq "x"]',
      5,
      1,
      'email has no sub-attributes ("[...]" filters apply to profiles, attributes',
    ],
    ['profiles eq "x"', 0, 8, 'profiles is a list'],
    ['email eq', 8, 1, 'missing value after "eq"'],
    ['email eq )', 9, 1, 'expected a value after "eq"'],
    ['email eq foo', 9, 3, 'quote strings, like "foo"'],
    ['email eq "x" foo', 13, 3, 'unexpected "foo" after a complete expression'],
    ['email eq "x")', 12, 1, 'unmatched ")"'],
    ['email eq "x"]', 12, 1, 'unmatched "]"'],
    ['email eq "x" && klass pr', 13, 2, 'use and'],
    ['email pr and', 12, 1, 'expected an attribute name, found end of filter'],
    ['email pr or or klass pr', 12, 2, 'expected an attribute name, found "or"'],
    ['not', 3, 1, 'expected an attribute name'],
    ['()', 1, 1, 'expected an attribute name, found ")"'],
    ['obj_id eq 01', 10, 2, 'bad number "01"'],
    ['obj_id eq 1.', 10, 2, 'bad number "1."'],
    ['obj_id eq -x', 10, 2, 'bad number "-x"'],
    ['obj_id eq 5abc', 10, 4, 'bad number "5abc"'],
    ['obj_id eq 1e999', 10, 5, 'out of range'],
    ['obj_id gt "-90d"', 10, 6, 'relative date "-90d" only applies to timestamp fields'],
    ['is_active eq "-1d"', 13, 5, 'relative date "-1d" only applies to timestamp fields'],
    ['last_login lt "2026-02-30"', 14, 12, 'bad date "2026-02-30"'],
    ['last_login lt "yesterday"', 14, 11, 'bad date "yesterday"'],
    ['last_login lt "90d"', 14, 5, 'bad date "90d"'],
    ['last_login lt "2026-01-31T25:00:00Z"', 14, 22, 'bad date'],
    ['last_login gt 5', 14, 1, 'last_login is a timestamp'],
    ['last_login sw "2026"', 11, 2, 'last_login is a timestamp: use eq, ne, gt, ge, lt or le'],
    ['is_active eq "yes"', 13, 5, 'is_active is a boolean: compare it with true or false'],
    ['is_active eq 1', 13, 1, 'is_active is a boolean'],
    ['is_active gt true', 10, 2, 'is_active is a boolean: use eq or ne'],
    ['obj_id gt "abc"', 10, 5, 'obj_id is a number and cannot be compared with the text "abc"'],
    ['obj_id eq "12"', 10, 4, 'write 12 without quotes'],
    ['obj_id co 5', 7, 2, 'co compares text'],
    ['email eq 5', 9, 1, 'email is text: quote the value, like "5"'],
    ['email eq true', 9, 4, 'email is text'],
    ['email gt null', 6, 2, 'null can only be compared with eq or ne'],
    ['profiles[priority eq "high"]', 21, 6, 'profiles.priority is a number'],
    ['attributes[value co 5]', 20, 1, 'co compares text'],
    ['attrs[value gt true]', 12, 2, 'use eq or ne'],
    ['attrs[expires_at lt "soon"]', 20, 6, 'bad date "soon" for attrs.expires_at'],
    ['username) or 1=1--', 8, 1, 'expected an operator after "username"'],
    ['profiles[short_name eq "a"] or 1=1', 31, 1, 'expected an attribute name, found "1"'],
  ];

  it.each(cases)('%j fails at %i (+%i): %s', (text, position, length, reason) => {
    const error = syntaxError(text);
    expect(error.reason).toContain(reason);
    expect(error.position).toBe(position);
    expect(error.length).toBe(length);
    const [head, line, caret] = error.message.split('\n');
    expect(head).toBe(`filter: ${error.reason} at column ${position + 1}`);
    // eslint-disable-next-line no-control-regex
    expect(line).toBe(`  ${text.replace(/[\u0000-\u001f\u007f]/g, ' ')}`);
    expect(caret).toBe(`  ${' '.repeat(position)}${'^'.repeat(length)}`);
  });

  it('keeps control characters and long filters out of the caret display', () => {
    const error = syntaxError('email eq "x"\u001b[31m');
    expect(error.message).not.toContain('\u001b');
    const long = `${'email pr and '.repeat(20)}emial pr`;
    const far = syntaxError(long);
    expect(far.position).toBe(260);
    const [, line, caret] = far.message.split('\n');
    expect(line!.length).toBeLessThan(110);
    expect(line!.startsWith('  …')).toBe(true);
    expect(line![caret!.indexOf('^')]).toBe('e');
    expect(line!.slice(caret!.indexOf('^'), caret!.indexOf('^') + 5)).toBe('emial');
  });
});

describe('date literals', () => {
  const now = new Date('2026-01-31T12:00:00.000Z');
  const iso = (text: string) => {
    const date = parseDateLiteral(text);
    return date && dateLiteralToIso(date, now);
  };

  it('computes relative times from now', () => {
    expect(iso('-90d')).toBe('2025-11-02T12:00:00.000Z');
    expect(iso('-12h')).toBe('2026-01-31T00:00:00.000Z');
    expect(iso('-30m')).toBe('2026-01-31T11:30:00.000Z');
    expect(iso('+7d')).toBe('2026-02-07T12:00:00.000Z');
    expect(iso('-2w')).toBe('2026-01-17T12:00:00.000Z');
    expect(iso('-45s')).toBe('2026-01-31T11:59:15.000Z');
    expect(iso('-1D')).toBe('2026-01-30T12:00:00.000Z');
  });

  it('reads dates as midnight UTC and ISO times with or without an offset', () => {
    expect(iso('2026-01-31')).toBe('2026-01-31T00:00:00.000Z');
    expect(iso('2024-02-29')).toBe('2024-02-29T00:00:00.000Z');
    expect(iso('2026-01-31T23:30:00-01:00')).toBe('2026-02-01T00:30:00.000Z');
    expect(iso('2026-01-31T12:00:00+0530')).toBe('2026-01-31T06:30:00.000Z');
    expect(iso('2026-01-31T12:00')).toBe('2026-01-31T12:00:00.000Z');
    expect(iso('2026-01-31 12:00:05.123456Z')).toBe('2026-01-31T12:00:05.123Z');
    expect(iso('0099-03-01')).toBe('0099-03-01T00:00:00.000Z');
  });

  it('rejects impossible or unknown forms', () => {
    for (const text of [
      '2026-02-29',
      '2026-13-01',
      '2026-00-10',
      '2026-1-5',
      '2026-01-31T24:00',
      '2026-01-31T12:60',
      '90d',
      '-90',
      '-d',
      '-1y',
      'now',
      '',
    ]) {
      expect(parseDateLiteral(text), text).toBeUndefined();
    }
  });
});

describe('filterComparesAttrValues', () => {
  const names = (text: string) => filterComparesAttrValues(parseFilter(text));

  it('lists the attrs whose value is compared when the name is pinned', () => {
    expect(names('attrs[name eq "plan" and value eq "gold"]')).toEqual(['plan']);
    expect(names('attrs[value gt 1 and name eq "Quota"]')).toEqual(['quota']);
    expect(names('attrs[(name eq "a" or name eq "b") and value gt 1]')).toEqual(['a', 'b']);
    expect(
      names('not attrs[name eq "x" and value ne 1] or attrs[name eq "y" and value eq 2] and email pr'),
    ).toEqual(['x', 'y']);
  });

  it('says any when a value comparison is not pinned to a name', () => {
    expect(names('attrs[value eq "gold"]')).toBe('any');
    expect(names('attrs.value eq 1')).toBe('any');
    expect(names('attrs[name sw "p" and value eq 1]')).toBe('any');
    expect(names('attrs[name eq "p" or value eq 1]')).toBe('any');
    expect(names('attrs[name eq "p" and not (value eq 1)] or attrs[not (name eq "q") and value eq 2]')).toBe(
      'any',
    );
  });

  it('is empty when no attr value is compared', () => {
    expect(names('attrs[name eq "plan"]')).toEqual([]);
    expect(names('attrs.value pr')).toEqual([]);
    expect(names('attrs pr or email pr or attributes[value eq "x"]')).toEqual([]);
  });
});
