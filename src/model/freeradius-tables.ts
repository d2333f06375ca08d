/** FreeRADIUS's own rlm_sql tables, as read from an existing database (keyed by name, no users table). */

/** A radcheck / radreply row (`key` = username) or radgroupcheck / radgroupreply row (`key` = groupname). */
export interface FreeradiusAttributeRow {
  key: string;
  attr: string;
  op: string;
  value: string;
}

export interface FreeradiusMembership {
  username: string;
  groupname: string;
  priority: number;
}

/** Every row, each table in the order FreeRADIUS reads it (id; radusergroup by priority). */
export interface FreeradiusTables {
  radcheck: FreeradiusAttributeRow[];
  radreply: FreeradiusAttributeRow[];
  radusergroup: FreeradiusMembership[];
  radgroupcheck: FreeradiusAttributeRow[];
  radgroupreply: FreeradiusAttributeRow[];
  /** Tables the source does not have (read as empty). */
  missing: string[];
}
