import { UsageError } from '../../errors.js';

/** A server URL as shown in messages: never with its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    return parsed.toString().replace(/:@/, '@');
  } catch {
    // Not parseable (say an unencoded "@" or "/" in the password): keep the scheme, the user
    // name and what follows the last "@"; whatever came between may be the password.
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
    const at = url.lastIndexOf('@');
    if (scheme === undefined || at < scheme.length) return url;
    const user = url.slice(scheme.length, at).split(':')[0] ?? '';
    return `${scheme}${user}@${url.slice(at + 1)}`;
  }
}

/**
 * A server URL before connecting: parsed, or a UsageError (exit 2) that shows it without its
 * password. `needsDatabase`: the driver has no default database, so the URL must name one.
 */
export function parseServerUrl(url: string, needsDatabase: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
    // The port is checked only here; a URL parser keeps an out-of-range one.
    if (parsed.port !== '' && Number(parsed.port) > 65_535) throw new TypeError('port out of range');
  } catch (error) {
    throw new UsageError(
      `not a valid database URL: ${redactUrl(url)} (${(error as Error).message}): the form is ` +
        `scheme://user:password@host:port/database, and an "@", ":", "/", "#" or "%" in the user ` +
        `name or password must be percent-encoded ("@" as %40)`,
    );
  }
  if (needsDatabase && decodeURIComponent(parsed.pathname.replace(/^\//, '')) === '') {
    throw new UsageError(
      `the database URL ${redactUrl(url)} names no database: add it after the host, as in ` +
        `${parsed.protocol}//${parsed.username ? `${parsed.username}@` : ''}${parsed.host}/radius`,
    );
  }
  return parsed;
}
