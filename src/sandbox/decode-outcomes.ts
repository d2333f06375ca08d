import type { ItemNote } from '../model/item-result.js';
import { USER_FIELD_NAMES } from '../store/user-fields.js';
import { BatchFailure } from './batch-failure.js';
import {
  ATTR_WRITE_WIDTH,
  DONE_ATTRS,
  DONE_CHECK,
  DONE_FIELDS,
  DONE_PROFILES,
  DONE_REPLY,
  FAILED_LOCATION,
  FAILED_MESSAGE,
  FIELD_CHANGE_WIDTH,
  NOTE_WIDTH,
  OUTCOME_LOGS,
  OUTCOME_NOTES,
  OUTCOME_SEQ,
  OUTCOME_STATUS,
  PROFILE_CHANGE_WIDTH,
  RADIUS_ATTR,
  RADIUS_ID,
  RADIUS_OP,
  RADIUS_VALUE,
  RADIUS_WIDTH,
  SKIPPED_REASON,
  STATUS_DONE,
  STATUS_FAILED,
  STATUS_SKIPPED,
} from './wire-format.js';
import type { AttrWrite, RadiusAttribute, SandboxJob, SandboxOutcome, UserFieldValues } from './protocol.js';

/**
 * Reads a batch's outcomes in the positional form of wire-format.ts (written by prelude/outcome.ts)
 * back into `SandboxOutcome`s, one per job in order (with `prefix`, one per job of the first
 * ones). Anything else throws `BatchFailure`: the host
 * then re-runs the batch one job at a time. Checks shape only; the run re-validates the changes.
 */
export function decodeOutcomes(
  text: string,
  jobs: readonly SandboxJob[],
  options: { prefix?: boolean } = {},
): SandboxOutcome[] {
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    throw malformed('is not JSON');
  }
  // A slice of a batch holds the outcomes of the next jobs: a prefix of those still due.
  const fits = (n: number) => (options.prefix ? n <= jobs.length : n === jobs.length);
  if (!Array.isArray(rows) || !fits(rows.length)) throw malformed('do not match the batch');
  return rows.map((row: unknown, i) => decodeOutcome(row, jobs[i]?.seq));
}

function malformed(what: string): BatchFailure {
  return new BatchFailure('error', `the sandbox's outcomes ${what}`);
}

const isString = (v: unknown): v is string => typeof v === 'string';

function decodeOutcome(row: unknown, seq: number | undefined): SandboxOutcome {
  if (!Array.isArray(row) || row[OUTCOME_SEQ] !== seq || seq === undefined)
    throw malformed('do not match the batch');
  const r = row as unknown[];
  const logs: unknown = r[OUTCOME_LOGS];
  if (!Array.isArray(logs) || !logs.every(isString)) throw malformed('have bad logs');
  const notes = decodeNotes(r[OUTCOME_NOTES]);
  const withNotes = notes.length > 0 ? { notes } : {};
  const status = r[OUTCOME_STATUS];
  if (status === STATUS_SKIPPED) {
    const reason = r[SKIPPED_REASON];
    return isString(reason)
      ? { seq, status: 'skipped', message: reason, logs, ...withNotes }
      : { seq, status: 'skipped', logs, ...withNotes };
  }
  if (status === STATUS_FAILED) {
    const [message, location] = [r[FAILED_MESSAGE], r[FAILED_LOCATION]];
    if (!isString(message)) throw malformed('have a failure without a message');
    return isString(location)
      ? { seq, status: 'failed', message, location, logs, ...withNotes }
      : { seq, status: 'failed', message, logs, ...withNotes };
  }
  if (status !== STATUS_DONE) throw malformed('have an unknown status');
  const outcome: SandboxOutcome = { seq, status: 'done', logs, ...withNotes };
  // 0 marks a list the script left unchanged.
  if (r[DONE_FIELDS] !== 0) outcome.fields = decodeFields(r[DONE_FIELDS]);
  if (r[DONE_PROFILES] !== 0) outcome.profiles = decodeProfiles(r[DONE_PROFILES]);
  if (r[DONE_REPLY] !== 0) outcome.attributes = decodeRadius(r[DONE_REPLY]);
  if (r[DONE_CHECK] !== 0) outcome.check_attributes = decodeRadius(r[DONE_CHECK]);
  if (r[DONE_ATTRS] !== 0) outcome.attrs = decodeAttrs(r[DONE_ATTRS]);
  return outcome;
}

// 0 (or absent, in an outcome the host wrote) when the script's calls all had an effect.
function decodeNotes(v: unknown): ItemNote[] {
  if (v === 0 || v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.length % NOTE_WIDTH !== 0) throw malformed('have bad notes');
  const notes: ItemNote[] = [];
  for (let i = 0; i < v.length; i += NOTE_WIDTH) {
    const [message, location] = [v[i] as unknown, v[i + 1] as unknown];
    if (!isString(message) || (location !== null && !isString(location))) throw malformed('have bad notes');
    notes.push(location === null ? { message } : { message, location });
  }
  return notes;
}

function flat(v: unknown, width: number): unknown[] {
  if (!Array.isArray(v) || v.length % width !== 0) throw malformed('have a bad change list');
  return v;
}

function decodeFields(v: unknown): UserFieldValues {
  const items = flat(v, FIELD_CHANGE_WIDTH);
  const fields: UserFieldValues = {};
  for (let i = 0; i < items.length; i += FIELD_CHANGE_WIDTH) {
    const name = USER_FIELD_NAMES[items[i] as number];
    const value = items[i + 1];
    if (name === undefined || (value !== null && !['string', 'number', 'boolean'].includes(typeof value))) {
      throw malformed('have a bad field');
    }
    fields[name] = value as string | number | boolean | null;
  }
  return fields;
}

function decodeProfiles(v: unknown): { id: number; priority: number }[] {
  const items = flat(v, PROFILE_CHANGE_WIDTH);
  const profiles: { id: number; priority: number }[] = [];
  for (let i = 0; i < items.length; i += PROFILE_CHANGE_WIDTH) {
    const [id, priority] = [items[i], items[i + 1]];
    if (typeof id !== 'number' || typeof priority !== 'number') throw malformed('have a bad profile');
    profiles.push({ id, priority });
  }
  return profiles;
}

function decodeRadius(v: unknown): RadiusAttribute[] {
  const items = flat(v, RADIUS_WIDTH);
  const rows: RadiusAttribute[] = [];
  for (let i = 0; i < items.length; i += RADIUS_WIDTH) {
    const [id, attr, op, value] = [
      items[i + RADIUS_ID],
      items[i + RADIUS_ATTR],
      items[i + RADIUS_OP],
      items[i + RADIUS_VALUE],
    ];
    if ((id !== null && typeof id !== 'number') || !isString(attr) || !isString(op) || !isString(value)) {
      throw malformed('have a bad attribute row');
    }
    rows.push({ id, attr, op, value });
  }
  return rows;
}

function decodeAttrs(v: unknown): Record<string, AttrWrite> {
  const items = flat(v, ATTR_WRITE_WIDTH);
  const attrs: Record<string, AttrWrite> = {};
  for (let i = 0; i < items.length; i += ATTR_WRITE_WIDTH) {
    const [name, op, json, expiration, encrypt] = [
      items[i],
      items[i + 1],
      items[i + 2],
      items[i + 3],
      items[i + 4],
    ];
    if (!isString(name) || (expiration !== null && typeof expiration !== 'number'))
      throw malformed('have a bad attr write');
    if (op === 'set' && isString(json) && typeof encrypt === 'boolean')
      attrs[name] = { op, json, expiration, encrypt };
    else if (op === 'expiry') attrs[name] = { op, expiration };
    else if (op === 'delete') attrs[name] = { op };
    else throw malformed('have a bad attr write');
  }
  return attrs;
}
