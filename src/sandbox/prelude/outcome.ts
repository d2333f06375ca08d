/**
 * Prelude: a user's outcome as JSON text (positions in ../wire-format.ts), written by hand from
 * the bookkeeping's primitives so nothing the script planted (toJSON, a replaced JSON.stringify,
 * Array.prototype setters) can shape it. `src/sandbox/decode-outcomes.ts` reads it.
 */
import {
  DONE_ATTRS,
  DONE_CHECK,
  DONE_FIELDS,
  DONE_LENGTH,
  DONE_PROFILES,
  DONE_REPLY,
  FAILED_LOCATION,
  FAILED_MESSAGE,
  OUTCOME_LOGS,
  OUTCOME_NOTES,
  OUTCOME_SEQ,
  OUTCOME_STATUS,
  SKIPPED_REASON,
  STATUS_DONE,
  STATUS_FAILED,
  STATUS_SKIPPED,
} from '../wire-format.js';
import { List } from './intrinsics.js';
import { numberJson, quote } from './values.js';
import { fieldsJson } from './fields.js';
import { profilesChanged, profilesJson } from './profiles.js';
import { radiusChanged, radiusJson } from './radius-attributes.js';
import { attrsJson } from './user-attr.js';
import { logsJson } from './console.js';
import { MAX_CHANGES } from './state.js';
import type { UserState } from './user-object.js';

// The JSON array of `parts` (each already JSON text), in position order.
function arrayJson(parts: string[]): string {
  let s = '[';
  for (let i = 0; i < parts.length; i++) s += (i === 0 ? '' : ',') + parts[i];
  return s + ']';
}

function head(seq: unknown, status: number, logs: string, notes: string, length: number): string[] {
  const parts = new List<string>();
  for (let i = 0; i < length; i++) parts[i] = '0';
  parts[OUTCOME_SEQ] = numberJson(seq);
  parts[OUTCOME_STATUS] = '' + status;
  parts[OUTCOME_LOGS] = logs;
  parts[OUTCOME_NOTES] = notes;
  return parts;
}

/** The user's notes as flat JSON, a last one counting those not kept; '0' when there are none. */
export function notesJson(st: UserState | null): string {
  if (st === null || (st.notes.length === 0 && st.notesDropped === 0)) return '0';
  const notes = st.notes;
  let s = '[';
  for (let i = 0; i < notes.length; i++) {
    const v = notes[i];
    s += (i === 0 ? '' : ',') + (typeof v === 'string' ? quote(v) : 'null');
  }
  if (st.notesDropped > 0) {
    const n = st.notesDropped;
    s +=
      (notes.length === 0 ? '' : ',') +
      quote('… ' + n + ' more call' + (n === 1 ? '' : 's') + ' with no effect') +
      ',null';
  }
  return s + ']';
}

export function doneOutcome(st: UserState): string {
  const parts = head(st.seq, STATUS_DONE, logsJson(st), notesJson(st), DONE_LENGTH);
  st.changes = 0;
  const fields = fieldsJson(st);
  if (fields !== '') parts[DONE_FIELDS] = '[' + fields + ']';
  if (st.profilesDirty && st.profiles !== null && profilesChanged(st)) {
    parts[DONE_PROFILES] = '[' + profilesJson(st.profiles) + ']';
    st.changes += st.profiles.length;
  }
  if (radiusChanged(st.reply)) {
    const l = st.reply.list ?? [];
    parts[DONE_REPLY] = '[' + radiusJson(l) + ']';
    st.changes += l.length;
  }
  if (radiusChanged(st.check)) {
    const l = st.check.list ?? [];
    parts[DONE_CHECK] = '[' + radiusJson(l) + ']';
    st.changes += l.length;
  }
  const attrs = attrsJson(st);
  if (attrs !== '') parts[DONE_ATTRS] = '[' + attrs + ']';
  if (st.changes > MAX_CHANGES) {
    return failedOutcome(
      st,
      logsJson(st),
      'the script made ' + st.changes + ' changes to this user; the cap is ' + MAX_CHANGES + ' per user',
      undefined,
    );
  }
  return arrayJson(parts);
}

export function skippedOutcome(st: UserState): string {
  const parts = head(st.seq, STATUS_SKIPPED, logsJson(st), notesJson(st), SKIPPED_REASON);
  if (st.skipped !== undefined && st.skipped !== '') parts[SKIPPED_REASON] = quote(st.skipped);
  return arrayJson(parts);
}

export function failedOutcome(
  st: UserState,
  logs: string,
  message: string,
  location: string | undefined,
): string {
  const parts = head(st.seq, STATUS_FAILED, logs, notesJson(st), FAILED_MESSAGE + 1);
  parts[FAILED_MESSAGE] = quote(message);
  if (location !== undefined) parts[FAILED_LOCATION] = quote(location);
  return arrayJson(parts);
}
