import { resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** The FreeRADIUS rlm_sql driver and dialect for each kind of usrun database. */
const SERVERS: Record<string, { driver: string; dialect: string; port: number }> = {
  postgres: { driver: 'rlm_sql_postgresql', dialect: 'postgresql', port: 5432 },
  postgresql: { driver: 'rlm_sql_postgresql', dialect: 'postgresql', port: 5432 },
  mysql: { driver: 'rlm_sql_mysql', dialect: 'mysql', port: 3306 },
  mariadb: { driver: 'rlm_sql_mysql', dialect: 'mysql', port: 3306 },
};

/** A value inside a FreeRADIUS double-quoted string. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The FreeRADIUS 3 `sql` module (mods-available/sql) that reads a usrun database through the
 * views of migration 0004: a SQLite path, or a postgres:// / mysql:// / mariadb:// URL. A
 * password in the URL is never printed: the admin fills it in.
 */
export function freeradiusSqlConfig(location: string): string {
  const scheme = /^([a-z]+):\/\//.exec(location)?.[1];
  let connection: string[];
  let header: string;
  if (scheme === undefined) {
    const path = resolve(location);
    header = `# usrun database: ${path}
# The file and its directory must be writable by the user FreeRADIUS runs as (freerad):
# SQLite keeps a -wal and -shm file beside it, and post-auth inserts into radpostauth.`;
    connection = [
      `\tdialect = "sqlite"`,
      `\tdriver = "rlm_sql_sqlite"`,
      `\tsqlite {`,
      `\t\tfilename = ${quoted(path)}`,
      // usrun commits users in groups; wait for a group to finish rather than fail post-auth.
      `\t\tbusy_timeout = 2000`,
      `\t}`,
    ];
  } else {
    const server = SERVERS[scheme];
    if (!server) throw new UsageError(`cannot make a FreeRADIUS configuration for a ${scheme}:// database`);
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      throw new UsageError(`not a valid database URL: ${location.replace(/:[^:@/]*@/, ':…@')}`);
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!database) throw new UsageError(`the database URL names no database (…/${'<name>'})`);
    header = `# usrun database: ${scheme}://${url.host}/${database}`;
    connection = [
      `\tdialect = ${quoted(server.dialect)}`,
      `\tdriver = ${quoted(server.driver)}`,
      `\tserver = ${quoted(decodeURIComponent(url.hostname))}`,
      `\tport = ${url.port || server.port}`,
      `\tlogin = ${quoted(decodeURIComponent(url.username))}`,
      `\t# password = "…"  (not printed: fill it in, and keep this file readable by freerad only)`,
      `\tradius_db = ${quoted(database)}`,
    ];
  }
  return `# FreeRADIUS 3 sql module for usrun, made by \`usrun radius config\`.
${header}
# Save as mods-available/sql, link it from mods-enabled/, and call \`sql\` in the authorize,
# accounting and post-auth sections of your site.
sql {
${connection.join('\n')}
${scheme === undefined ? '\tradius_db = "radius"\n' : ''}\tacct_table1 = "radacct"
\tacct_table2 = "radacct"
\tpostauth_table = "radpostauth"
\tauthcheck_table = "radcheck"
\tgroupcheck_table = "radgroupcheck"
\tauthreply_table = "radreply"
\tgroupreply_table = "radgroupreply"
\tusergroup_table = "radusergroup"
\tdelete_stale_sessions = yes
\tpool {
\t\tstart = \${thread[pool].start_servers}
\t\tmin = \${thread[pool].min_spare_servers}
\t\tmax = \${thread[pool].max_servers}
\t\tspare = \${thread[pool].max_spare_servers}
\t\tuses = 0
\t\tretry_delay = 30
\t\tlifetime = 0
\t\tidle_timeout = 60
\t}
\tread_clients = no
\tclient_table = "nas"
\tgroup_attribute = "SQL-Group"
\t$INCLUDE \${modconfdir}/\${.:name}/main/\${dialect}/queries.conf
}
`;
}
