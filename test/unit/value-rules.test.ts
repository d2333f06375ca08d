import { describe, expect, it } from 'vitest';
import {
  attrValueJson,
  parseIsoTimestamp,
  radiusValueProblem,
  textLength,
  utf8Length,
} from '../../src/model/value-rules.js';
import { parseDateLiteral } from '../../src/select/date-literal.js';

describe('parseIsoTimestamp, the one timestamp parser (filters, sandbox, host)', () => {
  it.each([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2026-01-31T12:00', '2026-01-31T12:00:00.000Z'],
    ['2026-01-31 12:00:05.123456', '2026-01-31T12:00:05.123Z'],
    ['2026-01-31T12:00:00+02:00', '2026-01-31T10:00:00.000Z'],
    ['2026-01-31T12:00:00-0130', '2026-01-31T13:30:00.000Z'],
    ['2026-01-31T12:00:00+02', '2026-01-31T10:00:00.000Z'],
    ['2024-02-29T00:00:00z', '2024-02-29T00:00:00.000Z'],
    ['0050-06-01', '0050-06-01T00:00:00.000Z'],
  ])('reads %s as UTC unless it has an offset', (text, iso) => {
    expect(new Date(parseIsoTimestamp(text)).toISOString()).toBe(iso);
    expect(parseDateLiteral(text)).toEqual({ kind: 'absolute', iso });
  });

  it.each([
    '2026-02-30',
    '2025-02-29',
    '2026-13-01',
    '2026-01-01T24:00',
    '2026-01-01T12:60',
    '2026-01-01T12:00+24:00',
    '26-01-01',
    '2026-01-01T',
    'yesterday',
    '',
  ])('refuses %j', (text) => {
    expect(parseIsoTimestamp(text)).toBeNaN();
    expect(parseDateLiteral(text)).toBeUndefined();
  });
});

describe('text lengths', () => {
  it('counts code points and UTF-8 bytes', () => {
    expect(textLength('a😀é')).toBe(3);
    expect(textLength('\ud800x')).toBe(2);
    expect(utf8Length('a😀é')).toBe(1 + 4 + 2);
  });
});

describe('attrValueJson on the host', () => {
  it('writes what JSON.stringify writes for plain JSON values', () => {
    const v = { a: [1, -0.5, 'x"y', null, true, { b: {} }], 'c d': '😀' };
    expect(attrValueJson(v, 'value')).toBe(JSON.stringify(v));
  });

  it('names the path of the first part that is not JSON', () => {
    expect(() => attrValueJson({ list: [{ n: Number.NaN }] }, 'value')).toThrow(
      new TypeError('value.list[0].n is NaN, which JSON cannot hold'),
    );
    expect(() => attrValueJson({ ['9lives']: undefined }, 'value')).toThrow(
      new TypeError('value["9lives"] is undefined, which JSON cannot hold'),
    );
    expect(() => attrValueJson('ab', 'value', 3)).toThrow('larger than 3 bytes');
  });

  it('refuses RADIUS values that are not finite numbers or short text', () => {
    expect(radiusValueProblem(3600)).toBeNull();
    expect(radiusValueProblem('😀'.repeat(253))).toBeNull();
    expect(radiusValueProblem(Number.POSITIVE_INFINITY)).toBe(
      'value must be a string or a finite number (got Infinity)',
    );
    expect(radiusValueProblem(null)).toBe('value must be a string or a finite number (got null)');
  });
});
