/**
 * Prelude: the script's `console`. Lines go to the running user's logs, at most `MAX_LOG_LINES`
 * of them (`--max-log-lines`) and `MAX_LOG_CHARS` characters in all, each cut at about
 * `MAX_TEXT` characters; later lines are counted, and the count, with the cap, is the last line.
 */
import { ObjectPrototype, freeze, push } from './intrinsics.js';
import { MAX_TEXT, formatValue, quote, truncate } from './values.js';
import { MAX_LOG_CHARS, MAX_LOG_LINES, MAX_RUN_LOG_CHARS, cur, runLogChars } from './state.js';
import type { UserState } from './user-object.js';
import type { ConsoleMethodName, MethodTable } from '../../model/script-api.js';

function logLine(prefix: string, args: unknown[]): void {
  const st = cur;
  if (st === null || st.closed) return;
  const maxChars = charsAllowed();
  if (st.logs.length >= MAX_LOG_LINES || st.logChars >= maxChars) {
    st.logsDropped++;
    return;
  }
  let s = prefix;
  for (let i = 0; i < args.length && s.length <= MAX_TEXT; i++)
    s += (i === 0 ? '' : ' ') + formatValue(args[i]);
  s = truncate(s, MAX_TEXT);
  if (st.logChars + s.length > maxChars) {
    st.logsDropped++;
    st.logChars = maxChars;
    return;
  }
  st.logChars += s.length;
  push(st.logs, s);
}

// Console characters this user may still keep: its own cap, or what is left of the run's.
function charsAllowed(): number {
  const left = MAX_RUN_LOG_CHARS - runLogChars;
  return left < MAX_LOG_CHARS ? (left > 0 ? left : 0) : MAX_LOG_CHARS;
}

// Exactly the methods `usrun types` declares for console (src/model/script-api.ts).
export const CONSOLE = {
  __proto__: ObjectPrototype,
  log(...args: unknown[]): void {
    logLine('', args);
  },
  info(...args: unknown[]): void {
    logLine('', args);
  },
  warn(...args: unknown[]): void {
    logLine('warn: ', args);
  },
  error(...args: unknown[]): void {
    logLine('error: ', args);
  },
} satisfies MethodTable<ConsoleMethodName>;
freeze(CONSOLE.log);
freeze(CONSOLE.info);
freeze(CONSOLE.warn);
freeze(CONSOLE.error);
freeze(CONSOLE);

/** The user's log lines as a JSON array; dropped lines become one last line that says why. */
export function logsJson(st: UserState): string {
  const logs = st.logs;
  let s = '[';
  for (let i = 0; i < logs.length; i++) s += (i === 0 ? '' : ',') + quote(logs[i] as string);
  if (st.logsDropped > 0) {
    const n = st.logsDropped;
    const why =
      st.logs.length >= MAX_LOG_LINES
        ? 'the cap is ' + MAX_LOG_LINES + ' lines per user; --max-log-lines raises it'
        : charsAllowed() < MAX_LOG_CHARS
          ? "the run's console output reached its cap of " + MAX_RUN_LOG_CHARS + ' characters'
          : 'the cap is ' + MAX_LOG_CHARS + ' characters per user';
    s +=
      (logs.length === 0 ? '' : ',') +
      quote('… ' + n + ' more line' + (n === 1 ? '' : 's') + ' not kept (' + why + ')');
  }
  return s + ']';
}
