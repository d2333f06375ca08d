import { resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** How FreeRADIUS reaches a kind of server database. */
interface Server {
  driver: string;
  dialect: string;
  port: number;
  /** Connection parameters of the URL that go into `radius_db`, if the driver takes any. */
  parameters: (url: URL) => string[];
  /** Where the driver looks for a password besides the password file, if anywhere. */
  passwordHint: string | null;
}

const POSTGRESQL: Server = {
  driver: 'rlm_sql_postgresql',
  dialect: 'postgresql',
  port: 5432,
  // libpq takes its parameters (sslmode…) in radius_db.
  parameters: (url) => postgresParameters(url),
  passwordHint: 'Without it, libpq looks in ~freerad/.pgpass (or PGPASSWORD, PGPASSFILE).',
};
const MYSQL: Server = {
  driver: 'rlm_sql_mysql',
  dialect: 'mysql',
  port: 3306,
  // mysql2's URL options have no FreeRADIUS equivalent here (TLS goes in the module's
  // mysql { tls { … } } section).
  parameters: () => [],
  passwordHint: null,
};

/** The FreeRADIUS rlm_sql driver and dialect for each kind of usrun database URL. */
const SERVERS: Record<string, Server> = {
  postgres: POSTGRESQL,
  postgresql: POSTGRESQL,
  mysql: MYSQL,
  mariadb: MYSQL,
};

/** A value inside a FreeRADIUS double-quoted string. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Where the printed module looks for the password, relative to the FreeRADIUS configuration. */
export const PASSWORD_FILE = 'mods-config/sql/password';

/** Options of `freeradiusSqlConfig`. */
export interface SqlConfigOptions {
  /** The database login FreeRADIUS uses, when not the URL's (a role that may only read the views). */
  login?: string;
}

/** libpq connection parameters a URL may carry (`?sslmode=require`), passed on to rlm_sql_postgresql. */
function postgresParameters(url: URL): string[] {
  return [...url.searchParams].map(([key, value]) => {
    if (!/^[a-z_]+$/.test(key)) throw new UsageError(`not a PostgreSQL connection parameter: ${key}`);
    return `${key}='${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  });
}

/**
 * The FreeRADIUS 3 `sql` module (mods-available/sql) that reads a usrun database through the
 * views of migration 0004: a SQLite path, or a postgres:// / mysql:// / mariadb:// URL. A
 * password in the URL is never printed: the module includes it from `PASSWORD_FILE` (under the
 * FreeRADIUS configuration directory) when that file exists, so the admin keeps it there, and
 * printing the module again does not lose it.
 */
export function freeradiusSqlConfig(location: string, options: SqlConfigOptions = {}): string {
  const scheme = /^([a-z]+):\/\//.exec(location)?.[1];
  let connection: string[];
  let header: string;
  if (scheme === undefined) {
    if (options.login !== undefined) {
      throw new UsageError('--login is for a PostgreSQL or MySQL database: FreeRADIUS opens a SQLite file');
    }
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
      `\tradius_db = "radius"`,
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
    const host = decodeURIComponent(url.hostname);
    const login = options.login ?? decodeURIComponent(url.username);
    const parameters = server.parameters(url);
    const db =
      parameters.length > 0
        ? [`dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`, ...parameters].join(' ')
        : database;
    header = `# usrun database: ${scheme}://${url.host}/${database}`;
    connection = [
      `\tdialect = ${quoted(server.dialect)}`,
      `\tdriver = ${quoted(server.driver)}`,
      ...(host ? [`\tserver = ${quoted(host)}`] : []),
      `\tport = ${url.port || server.port}`,
      ...(login ? [`\tlogin = ${quoted(login)}`] : []),
      `\t# The password is not printed. FreeRADIUS reads it from \${confdir}/${PASSWORD_FILE} when`,
      `\t# that file exists: one line, password = "…", readable by root and freerad only.${
        server.passwordHint ? `\n\t# ${server.passwordHint}` : ''
      }`,
      `\t$-INCLUDE \${confdir}/${PASSWORD_FILE}`,
      `\tradius_db = ${quoted(db)}`,
    ];
  }
  return `# FreeRADIUS 3 sql module for usrun, made by \`usrun radius config\`.
${header}
# Save as mods-available/sql, link it from mods-enabled/, and call \`sql\` in the authorize,
# accounting and post-auth sections of your site.
sql {
${connection.join('\n')}
\tacct_table1 = "radacct"
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
