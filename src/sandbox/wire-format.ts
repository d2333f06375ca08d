/**
 * The positional wire format between the host and the prelude, defined once. A batch is one job
 * per line, each a JSON array; the prelude answers one outcome per job, also a JSON array.
 * Positions instead of keys halve the cost of parsing inside the isolate. Used by
 * `encode-jobs.ts` and `decode-outcomes.ts` on the host and by the prelude (`prelude/`), which
 * imports this compiled file into the isolate: plain numbers only, no imports.
 */

// A job: [seq, fields, profiles, reply, check, attrs, row].
/** `SandboxJob.seq`. */
export const JOB_SEQ = 0;
/** The user's field values in `USER_FIELDS` order. */
export const JOB_FIELDS = 1;
/** `[[id, short_name, name, priority]…]` */
export const JOB_PROFILES = 2;
/** `[[id, attr, op, value]…]` reply attributes. */
export const JOB_REPLY = 3;
/** `[[id, attr, op, value]…]` check attributes. */
export const JOB_CHECK = 4;
/** `[[name, json, encrypted]…]` */
export const JOB_ATTRS = 5;
/** The CSV row object, or null. */
export const JOB_ROW = 6;
export const JOB_LENGTH = 7;

/** Position of each item in a profile entry of a job. */
export const PROFILE_ID = 0;
export const PROFILE_SHORT_NAME = 1;
export const PROFILE_NAME = 2;
export const PROFILE_PRIORITY = 3;
/** Position of each item in a RADIUS row of a job, and of an outcome (flattened there). */
export const RADIUS_ID = 0;
export const RADIUS_ATTR = 1;
export const RADIUS_OP = 2;
export const RADIUS_VALUE = 3;
export const RADIUS_WIDTH = 4;
/** Position of each item in an attr of a job. */
export const ATTR_NAME = 0;
export const ATTR_JSON = 1;
export const ATTR_ENCRYPTED = 2;

// An outcome: [seq, status, logs, notes, …] and then, by status:
//   done    fields, profiles, reply, check, attrs (each a flat list, or 0 when unchanged)
//   skipped reason?
//   failed  message, location?
export const OUTCOME_SEQ = 0;
export const OUTCOME_STATUS = 1;
export const OUTCOME_LOGS = 2;
/** Flat `[message, location|null, …]`: the calls that had no effect (0 when none). */
export const OUTCOME_NOTES = 3;
export const NOTE_WIDTH = 2;
export const STATUS_DONE = 0;
export const STATUS_SKIPPED = 1;
export const STATUS_FAILED = 2;
/** Flat `[fieldIndex, value, …]` of the assigned fields that differ from the snapshot. */
export const DONE_FIELDS = 4;
export const FIELD_CHANGE_WIDTH = 2;
/** Flat `[id, priority, …]`: the desired final memberships. */
export const DONE_PROFILES = 5;
export const PROFILE_CHANGE_WIDTH = 2;
/** Flat `[id, attr, op, value, …]` (RADIUS_*): the desired final rows. */
export const DONE_REPLY = 6;
export const DONE_CHECK = 7;
/** Flat `[name, op, json, expiration, encrypt, …]`: the collapsed attr writes. */
export const DONE_ATTRS = 8;
export const ATTR_WRITE_WIDTH = 5;
export const DONE_LENGTH = 9;
export const SKIPPED_REASON = 4;
export const FAILED_MESSAGE = 4;
export const FAILED_LOCATION = 5;
