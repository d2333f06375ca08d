import { describe, expect, it } from 'vitest';
import type { RadiusRow } from '../../src/model/change.js';
import type { FreeradiusTables } from '../../src/model/freeradius-tables.js';
import type { ImportTarget } from '../../src/model/radius-import-plan.js';
import { planRadiusImport } from '../../src/run/plan-radius-import.js';
import { addRadiusRow, removeRadiusRows } from '../../src/run/radius-row-edits.js';
import { freeradiusSqlConfig } from '../../src/store/freeradius-sql-config.js';
import { radiusViewsSql } from '../../src/store/radius-migration.js';
import { sqliteCapabilities } from '../../src/store/dialects/sqlite/capabilities.js';

const row = (id: number | null, attr: string, op: string, value: string): RadiusRow => ({
  id,
  attr,
  op,
  value,
});

describe('addRadiusRow / removeRadiusRows (profile attr add/rm): the attribute_add rules', () => {
  const rows = [
    row(1, 'Session-Timeout', ':=', '3600'),
    row(2, 'Reply-Message', '+=', 'a'),
    row(3, 'Reply-Message', '+=', 'b'),
  ];

  it(':= replaces every row of the attribute, and is a no-op when that is the only row', () => {
    const edit = addRadiusRow('reply', rows, { attr: 'Reply-Message', op: ':=', value: 'c' });
    expect(edit.updated).toBe(true);
    expect(edit.message).toBe('reply Reply-Message := c added (replaced 2 rows)');
    expect(edit.rows).toEqual([rows[0], row(null, 'Reply-Message', ':=', 'c')]);
    const same = addRadiusRow('reply', rows, { attr: 'Session-Timeout', op: ':=', value: '3600' });
    expect(same).toMatchObject({ updated: false, message: 'reply Session-Timeout := 3600 already present' });
  });

  it('= adds only when absent; += appends unless identical', () => {
    expect(addRadiusRow('reply', rows, { attr: 'Session-Timeout', op: '=', value: '1' }).updated).toBe(false);
    expect(addRadiusRow('reply', rows, { attr: 'Idle-Timeout', op: '=', value: '1' }).rows).toHaveLength(4);
    expect(addRadiusRow('reply', rows, { attr: 'Reply-Message', op: '+=', value: 'a' }).updated).toBe(false);
    expect(addRadiusRow('reply', rows, { attr: 'Reply-Message', op: '+=', value: 'z' }).rows.at(-1)).toEqual(
      row(null, 'Reply-Message', '+=', 'z'),
    );
  });

  it('a comparison sets the value of the row with that attribute and operator, keeping its id', () => {
    const check = [row(7, 'Simultaneous-Use', '==', '1'), row(8, 'Simultaneous-Use', '==', '3')];
    const edit = addRadiusRow('check', check, { attr: 'Simultaneous-Use', op: '==', value: '2' });
    expect(edit.rows).toEqual([row(7, 'Simultaneous-Use', '==', '2')]);
    expect(edit.message).toBe('check Simultaneous-Use == 2 updated (was 1), removed 1 row');
  });

  it('removes rows by attribute and value, optionally operator', () => {
    expect(removeRadiusRows('reply', rows, { attr: 'Reply-Message', value: 'b' })).toMatchObject({
      updated: true,
      message: 'reply Reply-Message += b removed',
    });
    expect(removeRadiusRows('reply', rows, { attr: 'Reply-Message', value: 'b', op: ':=' }).updated).toBe(
      false,
    );
  });
});

const EMPTY_TARGET: ImportTarget = { users: new Map(), profiles: new Map() };

function tables(over: Partial<FreeradiusTables>): FreeradiusTables {
  return {
    radcheck: [],
    radreply: [],
    radusergroup: [],
    radgroupcheck: [],
    radgroupreply: [],
    missing: [],
    ...over,
  };
}

describe('planRadiusImport', () => {
  const source = tables({
    radcheck: [
      { key: 'carol', attr: 'Cleartext-Password', op: ':=', value: 'pw' },
      { key: 'carol', attr: 'Cleartext-Password', op: ':=', value: 'pw' },
    ],
    radreply: [{ key: 'dave', attr: 'Session-Timeout', op: ':=', value: '60' }],
    radusergroup: [
      { username: 'eve', groupname: 'gold', priority: 2 },
      { username: 'eve', groupname: 'gold', priority: 5 },
    ],
    radgroupreply: [{ key: 'silver', attr: 'Idle-Timeout', op: '=', value: '9' }],
  });

  it('makes a user per username and a profile per groupname, keeping rows, duplicates and order', () => {
    const plan = planRadiusImport(source, EMPTY_TARGET);
    expect(plan.problems).toEqual([]);
    expect(plan.users).toEqual(['carol', 'dave', 'eve']);
    expect(plan.profiles).toEqual(['gold', 'silver']);
    // The first row of a repeated membership wins (radusergroup is read in priority order).
    expect(plan.memberships).toEqual([{ username: 'eve', groupname: 'gold', priority: 2, before: null }]);
    expect(plan.rows.map((r) => `${r.owner}:${r.key}:${r.kind}:${r.attr}`)).toEqual([
      'user:carol:check:Cleartext-Password',
      'user:carol:check:Cleartext-Password',
      'user:dave:reply:Session-Timeout',
      'profile:silver:reply:Idle-Timeout',
    ]);
  });

  it('finds what is there already, counting identical rows one for one, and updates a priority', () => {
    const target: ImportTarget = {
      users: new Map([
        [
          'carol',
          {
            attributes: [],
            check_attributes: [row(1, 'Cleartext-Password', ':=', 'pw')],
            profiles: new Map(),
          },
        ],
        ['eve', { attributes: [], check_attributes: [], profiles: new Map([['gold', 1]]) }],
      ]),
      profiles: new Map([['gold', { version: 0, attributes: [], check_attributes: [] }]]),
    };
    const plan = planRadiusImport(source, target);
    expect(plan.users).toEqual(['dave']);
    expect(plan.profiles).toEqual(['silver']);
    expect(plan.rows.filter((r) => r.key === 'carol')).toHaveLength(1);
    expect(plan.memberships).toEqual([{ username: 'eve', groupname: 'gold', priority: 2, before: 1 }]);
    expect(plan.present).toBe(1);
  });

  it('lists every row the directory cannot hold, with where it is', () => {
    const plan = planRadiusImport(
      tables({
        radcheck: [{ key: 'x'.repeat(65), attr: 'Cleartext-Password', op: ':=', value: 'pw' }],
        radreply: [
          { key: 'ok', attr: 'Session-Timeout', op: '==', value: '1' },
          { key: 'ok', attr: 'Reply-Message', op: '=', value: 'v'.repeat(254) },
        ],
        radusergroup: [{ username: 'ok', groupname: 'has space', priority: 1 }],
      }),
      EMPTY_TARGET,
    );
    expect(plan.problems).toEqual([
      `radcheck row 1: username "${'x'.repeat(65)}" must have 1 to 64 characters`,
      'radreply row 1 (ok): reply attribute Session-Timeout: operator "==" is not one of = := +=',
      'radreply row 2 (ok): reply attribute Reply-Message: value must be at most 253 characters (got 254)',
      'radusergroup row 1: groupname "has space" is not a valid profile short_name (letters, digits, . _ -, at most 64)',
    ]);
  });
});

describe('freeradiusSqlConfig', () => {
  it('points rlm_sql_sqlite at the absolute path of a SQLite file', () => {
    const config = freeradiusSqlConfig('/var/lib/usrun/users.db');
    expect(config).toContain('driver = "rlm_sql_sqlite"');
    expect(config).toContain('dialect = "sqlite"');
    expect(config).toContain('filename = "/var/lib/usrun/users.db"');
    expect(config).toContain('authcheck_table = "radcheck"');
    expect(config).toContain('postauth_table = "radpostauth"');
  });

  it('gives server, port, login and database of a URL, never its password', () => {
    const pg = freeradiusSqlConfig('postgres://radius:s3cr%40t@db.example:6543/directory');
    expect(pg).toContain('driver = "rlm_sql_postgresql"');
    expect(pg).toContain('dialect = "postgresql"');
    expect(pg).toContain('server = "db.example"');
    expect(pg).toContain('port = 6543');
    expect(pg).toContain('login = "radius"');
    expect(pg).toContain('radius_db = "directory"');
    expect(pg).not.toMatch(/s3cr/);
    const my = freeradiusSqlConfig('mariadb://admin:pw@10.0.0.5/radius');
    expect(my).toContain('driver = "rlm_sql_mysql"');
    expect(my).toContain('dialect = "mysql"');
    expect(my).toContain('port = 3306');
    expect(my).not.toContain('"pw"');
  });

  it('includes the password from a file of the FreeRADIUS configuration, if it exists', () => {
    for (const url of ['postgres://radius:pw@db/directory', 'mysql://radius@db/directory']) {
      const config = freeradiusSqlConfig(url);
      expect(config).toContain('\t$-INCLUDE ${confdir}/mods-config/sql/password\n');
      expect(config).not.toMatch(/^\s*password\s*=/m);
    }
    expect(freeradiusSqlConfig('/var/lib/usrun/users.db')).not.toContain('INCLUDE ${confdir}');
  });

  it('connects as --login instead of the URL user, and leaves out what the URL leaves out', () => {
    const config = freeradiusSqlConfig('postgres://usrun@db.example/radius', { login: 'freerad' });
    expect(config).toContain('login = "freerad"');
    expect(config).not.toContain('"usrun"');
    expect(() => freeradiusSqlConfig('users.db', { login: 'freerad' })).toThrow(
      /--login is for a PostgreSQL/,
    );
    const bare = freeradiusSqlConfig('postgres:///radius');
    expect(bare).not.toMatch(/^\s*(server|login) =/m);
    expect(bare).toContain('radius_db = "radius"');
  });

  it("passes a PostgreSQL URL's libpq parameters on in radius_db", () => {
    const config = freeradiusSqlConfig("postgres://u@db/radius?sslmode=require&application_name=it's");
    expect(config).toContain(`radius_db = "dbname='radius' sslmode='require' application_name='it\\\\'s'"`);
    expect(() => freeradiusSqlConfig('postgres://u@db/radius?bad key=1')).toThrow(/bad key/);
  });

  it('refuses a scheme it has no FreeRADIUS driver for', () => {
    expect(() => freeradiusSqlConfig('mongodb://x/y')).toThrow(/mongodb/);
  });
});

describe('radiusViewsSql', () => {
  it('takes booleans and the clock from the dialect capabilities', () => {
    const sqlText = radiusViewsSql(sqliteCapabilities).join('\n');
    expect(sqlText).toContain(`u.is_active = ${sqliteCapabilities.booleanLiteral(true)}`);
    expect(sqlText).toContain(sqliteCapabilities.nowIsoText);
    const other = radiusViewsSql({
      ...sqliteCapabilities,
      booleanLiteral: (v) => (v ? 'TRUE' : 'FALSE'),
      nowIsoText: 'NOW_ISO()',
    }).join('\n');
    expect(other).toContain('u.is_active = TRUE');
    expect(other).toContain('u.expiration > NOW_ISO()');
  });
});
