/**
 * Prelude fragment: a user's outcome as JSON text, written by hand from the bookkeeping's
 * primitives so nothing the script planted (toJSON, a replaced JSON.stringify, Array.prototype
 * setters) can shape it. The form is positional and compact, because the batch's outcomes stay
 * in the isolate's heap until the batch ends; `src/sandbox/decode-outcomes.ts` reads it:
 *   done    [seq, 0, logs, fields, profiles, attributes, check_attributes, attrs]
 *           (each change list flat, or 0 when unchanged)
 *   skipped [seq, 1, logs, reason?]
 *   failed  [seq, 2, logs, message, location?]
 */
export const OUTCOME_SOURCE = String.raw`
function flatOrZero(s, changed) {
  return changed ? '[' + s + ']' : '0';
}

function doneOutcome(st) {
  const fields = fieldsJson(st);
  const attrs = attrsJson(st);
  return (
    '[' + numberJson(st.seq) + ',0,' + logsJson(st) + ',' +
    flatOrZero(fields, fields !== '') + ',' +
    (st.profilesDirty && profilesChanged(st) ? '[' + profilesJson(st.profiles) + ']' : '0') + ',' +
    (st.replyDirty && radiusChanged(st, REPLY) ? '[' + radiusJson(st.reply) + ']' : '0') + ',' +
    (st.checkDirty && radiusChanged(st, CHECK) ? '[' + radiusJson(st.check) + ']' : '0') + ',' +
    flatOrZero(attrs, attrs !== '') +
    ']'
  );
}

function skippedOutcome(st) {
  return '[' + numberJson(st.seq) + ',1,' + logsJson(st) + (st.skipped === '' ? '' : ',' + quote(st.skipped)) + ']';
}

function failedOutcome(seq, logs, message, location) {
  return '[' + numberJson(seq) + ',2,' + logs + ',' + quote(message) + (location === undefined ? '' : ',' + quote(location)) + ']';
}
`;
