/** What `usrun radius import` would write (planned in src/run, written by src/store). */

import type { RadiusRow } from './change.js';

/** What the target directory already holds for the names an import touches. */
export interface ImportTarget {
  users: ReadonlyMap<
    string,
    {
      attributes: readonly RadiusRow[];
      check_attributes: readonly RadiusRow[];
      profiles: ReadonlyMap<string, number>;
    }
  >;
  /** With each profile's version as read with its rows: its item writes only while it holds. */
  profiles: ReadonlyMap<
    string,
    { version: number; attributes: readonly RadiusRow[]; check_attributes: readonly RadiusRow[] }
  >;
}

export interface ImportRow {
  owner: 'user' | 'profile';
  /** username or profile short_name */
  key: string;
  kind: 'reply' | 'check';
  attr: string;
  op: string;
  value: string;
}

export interface ImportMembership {
  username: string;
  groupname: string;
  priority: number;
  /** The priority the membership has now; null when it is new. */
  before: number | null;
}

/** Everything an import would write, in the order it writes it. Empty lists: nothing to do. */
export interface RadiusImportPlan {
  users: string[];
  profiles: string[];
  memberships: ImportMembership[];
  /** In the source's id order, so FreeRADIUS reads them in the same order after the import. */
  rows: ImportRow[];
  /** Source rows and memberships already in the directory (an import run twice finds all). */
  present: number;
  /** Rows, memberships or names the directory cannot hold: the import writes nothing. */
  problems: string[];
}
