/**
 * Prelude: the run's configuration (set once by `init`) and the user being run. Other modules
 * read these live bindings; only `runner.ts` changes them, through the setters.
 */
import { List, freeze, own, push } from './intrinsics.js';
import { FieldSpec } from './fields.js';
import type { UserState } from './user-object.js';

/** The script's file name, as it appears in stack traces. */
export let FILENAME = 'script.js';
/** Console lines kept per user (`--max-log-lines`). */
export let MAX_LOG_LINES = 50;
/** Console text kept per user, in characters. */
export let MAX_LOG_CHARS = 65_536;
/** Console text kept per run, in characters, and what the run logged before this user. */
export let MAX_RUN_LOG_CHARS = 64 * 1024 * 1024;
export let runLogChars = 0;
/** Most changes one user may make (value-rules.ts). */
export let MAX_CHANGES = 1_000;
export const FIELD: Record<string, FieldSpec> = { __proto__: null } as never;
export const FIELD_LIST: FieldSpec[] = new List();
export const PROFILE_BY_ID: Record<string, ProfileInfo> = { __proto__: null } as never;
export const PROFILE_BY_SHORT_NAME: Record<string, ProfileInfo> = { __proto__: null } as never;

/** The user being run, between `begin` and `finish`; null between users. */
export let cur: UserState | null = null;

export function setCurrent(st: UserState | null, logged = 0): void {
  cur = st;
  runLogChars = logged;
}

export interface ProfileInfo {
  readonly id: number;
  readonly short_name: string;
  readonly name: string | null;
  /** The profile's own reply and check rows (what RADIUS adds from the group), as sent. */
  readonly attributes: unknown;
  readonly check_attributes: unknown;
}

/** Reads the run's configuration (JSON parsed by the caller, so read by own properties only). */
export function configure(c: unknown): void {
  FILENAME = own(c, 'filename');
  MAX_LOG_LINES = own(c, 'maxLogLines');
  MAX_LOG_CHARS = own(c, 'maxLogChars');
  MAX_RUN_LOG_CHARS = own(c, 'maxRunLogChars');
  MAX_CHANGES = own(c, 'maxChanges');
  const fields = own(c, 'fields');
  for (let i = 0; i < fields.length; i++) {
    const f = new FieldSpec(fields[i], i);
    FIELD[f.name] = f;
    push(FIELD_LIST, f);
  }
  const profiles = own(c, 'profiles');
  for (let i = 0; i < profiles.length; i++) {
    const p = profiles[i];
    const entry: ProfileInfo = freeze({
      __proto__: null,
      id: own(p, 'id'),
      short_name: own(p, 'short_name'),
      name: own(p, 'name'),
      attributes: own(p, 'attributes'),
      check_attributes: own(p, 'check_attributes'),
    });
    PROFILE_BY_ID['' + entry.id] = entry;
    PROFILE_BY_SHORT_NAME[entry.short_name] = entry;
  }
}
