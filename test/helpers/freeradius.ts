import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { PASSWORD_FILE } from '../../src/store/freeradius-sql-config.js';
import { dbQuery } from './db.js';
import { dialectOfLocation, SERVERS } from './dialects.js';

/** Debian's FreeRADIUS 3 configuration, copied for each private server. */
export const SYSTEM_CONFIG = '/etc/freeradius/3.0';
export const FREERADIUS_SCHEMA = join(SYSTEM_CONFIG, 'mods-config/sql/main/sqlite/schema.sql');
export const SECRET = 'testing123';

/** The rlm_sql drivers the tests use, one per dialect (Debian: freeradius, -postgresql, -mysql). */
export const SQL_DRIVERS = ['sqlite', 'postgresql', 'mysql'].map(
  (d) => `/usr/lib/freeradius/rlm_sql_${d}.so`,
);

/** Fails (never skips) when FreeRADIUS or one of its SQL drivers is missing: .ci/run installs them. */
export function assertFreeradiusInstalled(): void {
  const missing = ['/usr/sbin/freeradius', '/usr/bin/radtest', SYSTEM_CONFIG, ...SQL_DRIVERS].filter(
    (p) => !existsSync(p),
  );
  if (missing.length > 0) {
    throw new Error(
      `FreeRADIUS is not installed (missing ${missing.join(', ')}): ` +
        'apt-get install -y freeradius freeradius-utils freeradius-postgresql freeradius-mysql',
    );
  }
}

/**
 * Two distinct UDP ports nobody is bound to right now on 127.0.0.1, both held while picking so
 * they differ. Another process may still take one before FreeRADIUS binds it: startFreeradius
 * then tries again with new ones.
 */
async function freeUdpPorts(): Promise<{ auth: number; acct: number }> {
  const bind = async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', resolve);
    });
    return socket;
  };
  const sockets = [await bind(), await bind()];
  const [auth, acct] = sockets.map((s) => s.address().port) as [number, number];
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(resolve))));
  return { auth, acct };
}

const SITE = (auth: number, acct: number) => `server default {
listen {
	type = auth
	ipaddr = 127.0.0.1
	port = ${auth}
}
listen {
	type = acct
	ipaddr = 127.0.0.1
	port = ${acct}
}
authorize {
	preprocess
	sql
	pap
}
authenticate {
	Auth-Type PAP {
		pap
	}
}
accounting {
	sql
}
post-auth {
	sql
	Post-Auth-Type REJECT {
		sql
		attr_filter.access_reject
	}
}
}
`;

/**
 * A private copy of the system configuration in `dir`: only the modules the test site needs,
 * the given `sql` module, one site on loopback at the given ports, `files` written under the
 * configuration directory (by relative path), and no `user`/`group` switch (the server runs as
 * whoever starts it, with its logs and run files under `dir`).
 */
export function writePrivateConfig(
  dir: string,
  sqlModule: string,
  ports: { auth: number; acct: number },
  files: Readonly<Record<string, string>> = {},
) {
  const conf = join(dir, 'raddb');
  rmSync(conf, { recursive: true, force: true });
  cpSync(SYSTEM_CONFIG, conf, { recursive: true, verbatimSymlinks: true });
  for (const sub of ['mods-enabled', 'sites-enabled']) {
    for (const name of readdirSync(join(conf, sub))) rmSync(join(conf, sub, name));
  }
  for (const mod of ['always', 'attr_filter', 'expr', 'pap', 'preprocess']) {
    cpSync(join(conf, 'mods-available', mod), join(conf, 'mods-enabled', mod));
  }
  writeFileSync(join(conf, 'mods-enabled', 'sql'), sqlModule);
  writeFileSync(join(conf, 'sites-enabled', 'default'), SITE(ports.auth, ports.acct));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(conf, path)), { recursive: true });
    writeFileSync(join(conf, path), text, { mode: 0o600 });
  }
  for (const d of ['log', 'run']) mkdirSync(join(dir, d), { recursive: true });
  const radiusd = readFileSync(join(conf, 'radiusd.conf'), 'utf8')
    .replace(/^\s*(user|group) = .*$/gm, '')
    .replace(/^logdir = .*$/m, `logdir = ${join(dir, 'log')}`)
    .replace(/^run_dir = .*$/m, `run_dir = ${join(dir, 'run')}`)
    .replace(/^(\s*)proxy_requests\s*=.*$/m, '$1proxy_requests = no')
    // Rejects answer at once: the tests wait for many of them.
    .replace(/^(\s*)reject_delay\s*=.*$/m, '$1reject_delay = 0');
  writeFileSync(join(conf, 'radiusd.conf'), radiusd);
  return conf;
}

export interface RadiusServer {
  readonly port: number;
  /** Everything the server printed (-X), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** FreeRADIUS could not bind a port: someone took it between picking and binding. */
class PortTaken extends Error {}

/**
 * Starts `freeradius -X` on a private configuration with the given sql module (and `files`, see
 * writePrivateConfig) on free loopback ports; resolves when ready. A port taken meanwhile (by a
 * server another test file starts at the same moment) is retried with new ports.
 */
export async function startFreeradius(
  dir: string,
  sqlModule: string,
  files: Readonly<Record<string, string>> = {},
): Promise<RadiusServer> {
  for (let tries = 1; ; tries++) {
    try {
      return await startOnce(dir, sqlModule, files);
    } catch (error) {
      if (!(error instanceof PortTaken) || tries >= 5) throw error;
    }
  }
}

async function startOnce(
  dir: string,
  sqlModule: string,
  files: Readonly<Record<string, string>>,
): Promise<RadiusServer> {
  const ports = await freeUdpPorts();
  const conf = writePrivateConfig(dir, sqlModule, ports, files);
  const child: ChildProcess = spawn('/usr/sbin/freeradius', ['-X', '-d', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('FreeRADIUS did not start in 15 s')), 15_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        if (output.includes('Ready to process requests')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`FreeRADIUS exited (${code}) before it was ready`));
      });
    });
  } catch (error) {
    await stop();
    if (/Failed binding to .*(Address already in use|in use)/i.test(output)) throw new PortTaken(output);
    throw new Error(`${(error as Error).message}:\n${output.slice(-3000)}`, { cause: error });
  }
  return { port: ports.auth, log: () => output, stop };
}

export interface RadiusAnswer {
  /** `Access-Accept`, `Access-Reject`, or `none` when nothing came back. */
  code: string;
  /** Reply attributes as radclient prints them, strings unquoted, in order. */
  attributes: [string, string][];
}

/** `radtest USER PASS 127.0.0.1:PORT 0 testing123`, parsed. */
export function radtest(server: RadiusServer, user: string, password: string): Promise<RadiusAnswer> {
  return new Promise((resolve, reject) => {
    execFile(
      'radtest',
      ['-t', 'pap', user, password, `127.0.0.1:${server.port}`, '0', SECRET],
      { timeout: 20_000 },
      (error, stdout) => {
        const received = /Received (Access-\w+)/.exec(stdout);
        if (!received && error && !stdout) return reject(error);
        const attributes: [string, string][] = [];
        if (received) {
          const after = stdout.slice(received.index).split('\n').slice(1);
          for (const line of after) {
            const m = /^\s+([\w-]+) = (.*)$/.exec(line);
            if (!m) break;
            attributes.push([m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')]);
          }
        }
        resolve({ code: received?.[1] ?? 'none', attributes });
      },
    );
  });
}

/** What FreeRADIUS needs on a server database: read the views, write post-auth and accounting. */
export const RADIUS_GRANTS = (login: string) => [
  `GRANT SELECT ON radcheck, radreply, radusergroup, radgroupcheck, radgroupreply TO ${login}`,
  `GRANT INSERT ON radpostauth TO ${login}`,
  `GRANT SELECT, INSERT, UPDATE ON radacct TO ${login}`,
];

export interface RadiusLogin {
  /** The login for `usrun radius config --login`, or undefined (SQLite). */
  login: string | undefined;
  /** Files for the private configuration: the password file the printed module includes. */
  files: Record<string, string>;
  /** Removes the login from the server (after the test's database is dropped). */
  drop(): Promise<void>;
}

/**
 * A login of its own for FreeRADIUS on a server test database, as the README recommends: a
 * password, and only the grants above (MySQL grants per table). None on SQLite.
 */
export async function radiusLogin(location: string): Promise<RadiusLogin> {
  const dialect = dialectOfLocation(location);
  if (dialect === 'sqlite') return { login: undefined, files: {}, drop: async () => undefined };
  const login = `usrun_fr_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(9).toString('base64url');
  const files = { [PASSWORD_FILE]: `password = "${password}"\n` };
  if (dialect === 'postgres') {
    await dbQuery(location, `CREATE ROLE ${login} LOGIN PASSWORD '${password}'`);
    for (const grant of RADIUS_GRANTS(login)) await dbQuery(location, grant);
    return { login, files, drop: () => onServer(SERVERS.postgres, `DROP ROLE IF EXISTS ${login}`) };
  }
  const account = `'${login}'@'%'`;
  await dbQuery(location, `CREATE USER ${account} IDENTIFIED BY '${password}'`);
  // MySQL grants one table at a time.
  for (const grant of RADIUS_GRANTS(account)) {
    const [, privileges, tables] = /^GRANT (.*) ON (.*) TO /.exec(grant) ?? [];
    for (const table of (tables ?? '').split(', ')) {
      await dbQuery(location, `GRANT ${privileges} ON ${table} TO ${account}`);
    }
  }
  return { login, files, drop: () => onServer(SERVERS.mysql, `DROP USER IF EXISTS ${account}`) };
}

async function onServer(server: string, statement: string): Promise<void> {
  if (server.startsWith('postgres')) {
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
    return;
  }
  const connection = await mysql.createConnection(server);
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}
