import { USER_FIELD_NAMES } from '../store/user-fields.js';
import type { SandboxJob } from './protocol.js';
import {
  ATTR_ENCRYPTED,
  ATTR_JSON,
  ATTR_NAME,
  JOB_ATTRS,
  JOB_CHECK,
  JOB_FIELDS,
  JOB_LENGTH,
  JOB_PROFILES,
  JOB_REPLY,
  JOB_ROW,
  JOB_SEQ,
  PROFILE_ID,
  PROFILE_NAME,
  PROFILE_PRIORITY,
  PROFILE_SHORT_NAME,
  RADIUS_ATTR,
  RADIUS_ID,
  RADIUS_OP,
  RADIUS_VALUE,
} from './wire-format.js';

/**
 * The wire form of a batch (wire-format.ts): one job per line, each a JSON array. Each line is
 * parsed inside the isolate just before its job runs.
 */
export function encodeJobs(jobs: readonly SandboxJob[]): string {
  return jobs.map(encodeJob).join('\n');
}

/** An array with `items` at the given positions. */
function positional(length: number, items: [number, unknown][]): unknown[] {
  const row = new Array<unknown>(length).fill(null);
  for (const [at, value] of items) row[at] = value;
  return row;
}

function encodeJob(job: SandboxJob): string {
  const { fields, profiles, attributes, check_attributes, attrs } = job.user;
  const radius = (a: (typeof attributes)[number]): unknown[] =>
    positional(4, [
      [RADIUS_ID, a.id],
      [RADIUS_ATTR, a.attr],
      [RADIUS_OP, a.op],
      [RADIUS_VALUE, a.value],
    ]);
  return JSON.stringify(
    positional(JOB_LENGTH, [
      [JOB_SEQ, job.seq],
      [JOB_FIELDS, USER_FIELD_NAMES.map((name) => fields[name] ?? null)],
      [
        JOB_PROFILES,
        profiles.map((p) =>
          positional(4, [
            [PROFILE_ID, p.id],
            [PROFILE_SHORT_NAME, p.short_name],
            [PROFILE_NAME, p.name],
            [PROFILE_PRIORITY, p.priority],
          ]),
        ),
      ],
      [JOB_REPLY, attributes.map(radius)],
      [JOB_CHECK, check_attributes.map(radius)],
      [
        JOB_ATTRS,
        attrs.map((a) =>
          positional(3, [
            [ATTR_NAME, a.name],
            [ATTR_JSON, a.json],
            [ATTR_ENCRYPTED, a.encrypted],
          ]),
        ),
      ],
      [JOB_ROW, job.row],
    ]),
  );
}
