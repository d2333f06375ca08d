import { USER_FIELD_NAMES } from '../store/user-fields.js';
import { BatchFailure } from './batch-failure.js';
import type { AttrWrite, RadiusAttribute, SandboxJob, SandboxOutcome, UserFieldValues } from './protocol.js';

/**
 * Reads a batch's outcomes in the prelude's positional form (see prelude/outcome-source.ts) back
 * into `SandboxOutcome`s, one per job in order (with `prefix`, one per job of the first ones). Anything else throws `BatchFailure`: the host
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
  if (!Array.isArray(row) || row[0] !== seq || seq === undefined) throw malformed('do not match the batch');
  const logs: unknown = row[2];
  if (!Array.isArray(logs) || !logs.every(isString)) throw malformed('have bad logs');
  const [, status, , a, b, c, d, e] = row as unknown[];
  if (status === 1)
    return isString(a) ? { seq, status: 'skipped', message: a, logs } : { seq, status: 'skipped', logs };
  if (status === 2) {
    if (!isString(a)) throw malformed('have a failure without a message');
    return isString(b)
      ? { seq, status: 'failed', message: a, location: b, logs }
      : { seq, status: 'failed', message: a, logs };
  }
  if (status !== 0) throw malformed('have an unknown status');
  const outcome: SandboxOutcome = { seq, status: 'done', logs };
  if (a !== 0) outcome.fields = decodeFields(a);
  if (b !== 0) outcome.profiles = decodeProfiles(b);
  if (c !== 0) outcome.attributes = decodeRadius(c);
  if (d !== 0) outcome.check_attributes = decodeRadius(d);
  if (e !== 0) outcome.attrs = decodeAttrs(e);
  return outcome;
}

function flat(v: unknown, width: number): unknown[] {
  if (!Array.isArray(v) || v.length % width !== 0) throw malformed('have a bad change list');
  return v;
}

function decodeFields(v: unknown): UserFieldValues {
  const items = flat(v, 2);
  const fields: UserFieldValues = {};
  for (let i = 0; i < items.length; i += 2) {
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
  const items = flat(v, 2);
  const profiles: { id: number; priority: number }[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const [id, priority] = [items[i], items[i + 1]];
    if (typeof id !== 'number' || typeof priority !== 'number') throw malformed('have a bad profile');
    profiles.push({ id, priority });
  }
  return profiles;
}

function decodeRadius(v: unknown): RadiusAttribute[] {
  const items = flat(v, 4);
  const rows: RadiusAttribute[] = [];
  for (let i = 0; i < items.length; i += 4) {
    const [id, attr, op, value] = [items[i], items[i + 1], items[i + 2], items[i + 3]];
    if ((id !== null && typeof id !== 'number') || !isString(attr) || !isString(op) || !isString(value)) {
      throw malformed('have a bad attribute row');
    }
    rows.push({ id, attr, op, value });
  }
  return rows;
}

function decodeAttrs(v: unknown): Record<string, AttrWrite> {
  const items = flat(v, 5);
  const attrs: Record<string, AttrWrite> = {};
  for (let i = 0; i < items.length; i += 5) {
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
