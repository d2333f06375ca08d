import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';

/** Debian's FreeRADIUS 3 configuration, copied for each private server. */
export const SYSTEM_CONFIG = '/etc/freeradius/3.0';
export const FREERADIUS_SCHEMA = join(SYSTEM_CONFIG, 'mods-config/sql/main/sqlite/schema.sql');
export const SECRET = 'testing123';

/** Fails (never skips) when FreeRADIUS is missing: .ci/run installs it. */
export function assertFreeradiusInstalled(): void {
  const missing = ['/usr/sbin/freeradius', '/usr/bin/radtest'].filter((p) => !existsSync(p));
  if (missing.length > 0 || !existsSync(SYSTEM_CONFIG)) {
    throw new Error(
      `FreeRADIUS is not installed (missing ${[...missing, SYSTEM_CONFIG].join(', ')}): ` +
        'apt-get install -y freeradius freeradius-utils',
    );
  }
}

/** A UDP port nobody is bound to right now on 127.0.0.1. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
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
 * the given `sql` module, one site on loopback at the given ports, and no `user`/`group`
 * switch (the server runs as whoever starts it, with its logs and run files under `dir`).
 */
export function writePrivateConfig(dir: string, sqlModule: string, ports: { auth: number; acct: number }) {
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

/** Starts `freeradius -X` on a private configuration with the given sql module; resolves when ready. */
export async function startFreeradius(dir: string, sqlModule: string): Promise<RadiusServer> {
  const ports = { auth: await freeUdpPort(), acct: await freeUdpPort() };
  const conf = writePrivateConfig(dir, sqlModule, ports);
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
