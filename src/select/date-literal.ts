import type { DateLiteral } from './filter-ast.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

const RELATIVE = /^([+-])(\d{1,7})([smhdw])$/i;
const ABSOLUTE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** How a filter may write a time, for error messages. */
export const DATE_FORMATS_HINT =
  'use a date "2026-01-31", an ISO-8601 time "2026-01-31T12:00:00Z" (UTC unless an offset is given) or a relative time "-90d" / "+7d" (units s m h d w)';

/**
 * Reads a filter's time literal: a date (`2026-01-31` = that day 00:00 UTC), an ISO-8601 time
 * (without an offset it is UTC, as stored), or a relative time (`-90d` ago, `+7d` from now; units
 * s m h d w). Returns undefined for anything else, including impossible dates like `2026-02-30`.
 */
export function parseDateLiteral(text: string): DateLiteral | undefined {
  const relative = RELATIVE.exec(text);
  if (relative) {
    const [, sign, amount, unit] = relative as unknown as [string, string, string, string];
    const ms = Number(amount) * UNIT_MS[unit.toLowerCase() as keyof typeof UNIT_MS];
    return { kind: 'relative', offsetMs: sign === '-' ? -ms : ms };
  }
  const m = ABSOLUTE.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4] ?? 0);
  const minute = Number(m[5] ?? 0);
  const second = Number(m[6] ?? 0);
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetMinutes = parseOffset(m[8]);
  if (offsetMinutes === undefined) return undefined;
  // setUTCFullYear, because Date.UTC maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  const ms = date.getTime() - offsetMinutes * 60_000;
  return { kind: 'absolute', iso: new Date(ms).toISOString() };
}

/** The stored form (ISO-8601 UTC, lexicographically comparable) of a time literal at `now`. */
export function dateLiteralToIso(date: DateLiteral, now: Date): string {
  return date.kind === 'absolute' ? date.iso : new Date(now.getTime() + date.offsetMs).toISOString();
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** Minutes east of UTC; undefined when the offset is out of range. */
function parseOffset(text: string | undefined): number | undefined {
  if (text === undefined || text === 'Z' || text === 'z') return 0;
  const hours = Number(text.slice(1, 3));
  const minutes = Number(text.slice(3).replace(':', '') || '0');
  if (hours > 23 || minutes > 59) return undefined;
  return (text[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}
