/**
 * Prelude fragment: the script's `console`. Lines go to the running user's logs, at most
 * `MAX_LOG_LINES` of them (later ones are only counted) and about `MAX_TEXT` characters each.
 */
export const CONSOLE_SOURCE = String.raw`
function logLine(prefix, args) {
  const st = cur;
  if (st === null) return;
  if (st.logs.length >= MAX_LOG_LINES) {
    st.logsDropped++;
    return;
  }
  let s = prefix;
  for (let i = 0; i < args.length && s.length <= MAX_TEXT; i++) s += (i === 0 ? '' : ' ') + formatValue(args[i]);
  push(st.logs, truncate(s, MAX_TEXT));
}

const CONSOLE = {
  __proto__: ObjectPrototype,
  log(...args) {
    logLine('', args);
  },
  info(...args) {
    logLine('', args);
  },
  warn(...args) {
    logLine('warn: ', args);
  },
  error(...args) {
    logLine('error: ', args);
  },
};
for (const k in CONSOLE) freeze(CONSOLE[k]);
freeze(CONSOLE);

function logsJson(st) {
  const logs = st.logs;
  let s = '[';
  for (let i = 0; i < logs.length; i++) s += (i === 0 ? '' : ',') + quote(logs[i]);
  if (st.logsDropped > 0) {
    s += (logs.length === 0 ? '' : ',') + quote('… ' + st.logsDropped + ' more line' + (st.logsDropped === 1 ? '' : 's'));
  }
  return s + ']';
}
`;
