/**
 * The data that crosses the sandbox boundary, both ways. Everything here is plain JSON: no
 * functions, no isolated-vm objects. What comes back is untrusted and re-validated by the host
 * (`src/run/plan-user-changes.ts`).
 */

import type { ProfileRef, RadiusAttribute, UserFieldValues } from '../model/user-snapshot.js';
import type { ItemNote } from '../model/item-result.js';

export type { ProfileRef, RadiusAttribute, UserFieldValues };

/** A profile's reply or check row as the script sees it. */
export interface ProfileRadiusRow {
  attr: string;
  op: string;
  value: string;
}

/** A `user.attr` entry as the sandbox sees it. Expired entries are never sent. */
export interface AttrSnapshot {
  name: string;
  /** JSON text of the value; null when it is encrypted and the run has no key. */
  json: string | null;
  encrypted: boolean;
  /** ISO-8601 or null (never expires). */
  expires_at: string | null;
}

/**
 * The words a script failure carries when it read an encrypted attr in a run without a key: the
 * host recognizes the failure by them (src/run/check-key-needed.ts).
 */
export const NO_KEY_FAILURE = 'is encrypted and this run has no key';

/** Everything the script may read about one user. */
export interface UserSnapshot {
  fields: UserFieldValues;
  profiles: ProfileRef[];
  attributes: RadiusAttribute[];
  check_attributes: RadiusAttribute[];
  attrs: AttrSnapshot[];
}

/** One invocation of the script. */
export interface SandboxJob {
  /** Position in the run (the host's key for the result). */
  seq: number;
  user: UserSnapshot;
  /** The CSV row as `{column: value}`, or null when users were picked by filter. */
  row: Record<string, string> | null;
}

/** Sent once per sandbox (re)start. */
export interface SandboxSetup {
  /** The script file's text: the body of a function. */
  source: string;
  /** The script's file name, used in error locations (`name.js:3:7`). */
  filename: string;
  params: Record<string, string>;
  /**
   * Every profile, so `profile_add("aaa-01")` resolves without a round trip, with its own reply
   * and check rows (what RADIUS adds from the group), which `user.profiles` shows read-only.
   */
  profiles: {
    id: number;
    short_name: string;
    name: string | null;
    attributes?: ProfileRadiusRow[];
    check_attributes?: ProfileRadiusRow[];
  }[];
  /** Per-user timeout in ms (isolated-vm's, wall-clock while the script runs). */
  timeoutMs: number;
  /** Isolate heap limit in MB. */
  memoryMb: number;
  /** Console lines kept per user; later ones are counted, not kept (`--max-log-lines`). */
  maxLogLines: number;
  /** Outcomes stream back at least this often, in ms (default 100). */
  sliceMs?: number;
  /** Console characters kept per user (default `MAX_LOG_CHARS`, 64 Ki). */
  maxLogChars?: number;
  /**
   * Console characters kept for the whole run, counted by the sandbox process (default
   * `MAX_RUN_LOG_CHARS`, 64 Mi): once it is reached, later users keep no console lines.
   */
  maxRunLogChars?: number;
}

/** A change to one `user.attr` entry. */
export type AttrWrite =
  | {
      op: 'set';
      /** JSON text of the new value. */
      json: string;
      /** Seconds from now; null = never expires. */
      expiration: number | null;
      encrypt: boolean;
    }
  | { op: 'expiry'; expiration: number | null }
  | { op: 'delete' };

/**
 * What the script did to one user. Collections are present only when the script changed them,
 * and then hold the desired final state.
 */
export interface SandboxOutcome {
  seq: number;
  status: 'done' | 'skipped' | 'failed';
  /** For `failed`: the message; for `skipped`: the reason given to skip(). */
  message?: string;
  /** `script.js:LINE:COL` of a failure, when known. */
  location?: string;
  logs: string[];
  /** The script's calls that had no effect. */
  notes?: ItemNote[];
  /** Fields the script assigned, with the value it assigned (timestamps as ISO strings). */
  fields?: UserFieldValues;
  /** Desired final memberships (profile ids with priority). */
  profiles?: { id: number; priority: number }[];
  attributes?: RadiusAttribute[];
  check_attributes?: RadiusAttribute[];
  /** Attr writes by name, last one wins. */
  attrs?: Record<string, AttrWrite>;
}
