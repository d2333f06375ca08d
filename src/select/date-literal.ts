import { parseIsoTimestamp } from '../model/value-rules.js';
import type { DateLiteral } from './filter-ast.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

const RELATIVE = /^([+-])(\d{1,7})([smhdw])$/i;

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
  const ms = parseIsoTimestamp(text);
  return Number.isNaN(ms) ? undefined : { kind: 'absolute', iso: new Date(ms).toISOString() };
}

/** The stored form (ISO-8601 UTC, lexicographically comparable) of a time literal at `now`. */
export function dateLiteralToIso(date: DateLiteral, now: Date): string {
  return date.kind === 'absolute' ? date.iso : new Date(now.getTime() + date.offsetMs).toISOString();
}
