/**
 * Prelude fragment: a user's `SandboxOutcome` (src/sandbox/protocol.ts) as JSON text, written by
 * hand from the bookkeeping's primitives so nothing the script planted (toJSON, a replaced
 * JSON.stringify, Array.prototype setters) can shape it.
 */
export const OUTCOME_SOURCE = String.raw`
function outcomeHead(seq, status, logs) {
  return '{"seq":' + numberJson(seq) + ',"status":"' + status + '","logs":' + logs;
}

function doneOutcome(st) {
  let s = outcomeHead(st.seq, 'done', logsJson(st));
  const fields = fieldsJson(st);
  if (fields !== '') s += ',"fields":{' + fields + '}';
  if (st.profilesDirty && profilesChanged(st)) s += ',"profiles":' + profilesJson(st.profiles);
  if (st.replyDirty && radiusChanged(st, REPLY)) s += ',"attributes":' + radiusJson(st.reply);
  if (st.checkDirty && radiusChanged(st, CHECK)) s += ',"check_attributes":' + radiusJson(st.check);
  const attrs = attrsJson(st);
  if (attrs !== '') s += ',"attrs":{' + attrs + '}';
  return s + '}';
}

function skippedOutcome(st) {
  return outcomeHead(st.seq, 'skipped', logsJson(st)) + (st.skipped === '' ? '' : ',"message":' + quote(st.skipped)) + '}';
}

function failedOutcome(seq, logs, message, location) {
  return (
    outcomeHead(seq, 'failed', logs) +
    ',"message":' + quote(message) +
    (location === undefined ? '' : ',"location":' + quote(location)) +
    '}'
  );
}
`;
