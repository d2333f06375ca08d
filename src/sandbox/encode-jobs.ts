import { USER_FIELD_NAMES } from '../store/user-fields.js';
import type { SandboxJob } from './protocol.js';

/**
 * The wire form of a batch: one job per line, each a JSON array
 * `[seq, [field values in USER_FIELDS order], [[id, short_name, name, priority]…],
 *   [[id, attr, op, value]…] (reply), […] (check), [[name, json, encrypted]…], row]`.
 * Positions instead of keys halve the cost of parsing inside the isolate; each line is parsed
 * just before its job runs (prelude: runner-source.ts, UserState in user-object-source.ts).
 */
export function encodeJobs(jobs: readonly SandboxJob[]): string {
  return jobs.map(encodeJob).join('\n');
}

function encodeJob(job: SandboxJob): string {
  const { fields, profiles, attributes, check_attributes, attrs } = job.user;
  return JSON.stringify([
    job.seq,
    USER_FIELD_NAMES.map((name) => fields[name] ?? null),
    profiles.map((p) => [p.id, p.short_name, p.name, p.priority]),
    attributes.map((a) => [a.id, a.attr, a.op, a.value]),
    check_attributes.map((a) => [a.id, a.attr, a.op, a.value]),
    attrs.map((a) => [a.name, a.json, a.encrypted]),
    job.row,
  ]);
}
