import { USER_FIELD_NAMES } from '../store/user-fields.js';
import type { RadiusAttribute, SandboxJob } from './protocol.js';
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
  RADIUS_WIDTH,
} from './wire-format.js';

/**
 * The wire form of a batch (wire-format.ts): one job per line, each a JSON array. Each line is
 * parsed inside the isolate just before its job runs.
 */
export function encodeJobs(jobs: readonly SandboxJob[]): string {
  return jobs.map(encodeJob).join('\n');
}

// Each array is filled by position (wire-format.ts); no intermediate tuples, since this runs for
// every user on the host while it commits.
function encodeJob(job: SandboxJob): string {
  const { fields, profiles, attributes, check_attributes, attrs } = job.user;
  const row: unknown[] = new Array(JOB_LENGTH);
  row[JOB_SEQ] = job.seq;
  row[JOB_FIELDS] = USER_FIELD_NAMES.map((name) => fields[name] ?? null);
  row[JOB_PROFILES] = profiles.map((p) => {
    const r: unknown[] = new Array(4);
    r[PROFILE_ID] = p.id;
    r[PROFILE_SHORT_NAME] = p.short_name;
    r[PROFILE_NAME] = p.name;
    r[PROFILE_PRIORITY] = p.priority;
    return r;
  });
  row[JOB_REPLY] = attributes.map(radiusRow);
  row[JOB_CHECK] = check_attributes.map(radiusRow);
  row[JOB_ATTRS] = attrs.map((a) => {
    const r: unknown[] = new Array(3);
    r[ATTR_NAME] = a.name;
    r[ATTR_JSON] = a.json;
    r[ATTR_ENCRYPTED] = a.encrypted;
    return r;
  });
  row[JOB_ROW] = job.row;
  return JSON.stringify(row);
}

function radiusRow(a: RadiusAttribute): unknown[] {
  const r: unknown[] = new Array(RADIUS_WIDTH);
  r[RADIUS_ID] = a.id;
  r[RADIUS_ATTR] = a.attr;
  r[RADIUS_OP] = a.op;
  r[RADIUS_VALUE] = a.value;
  return r;
}
