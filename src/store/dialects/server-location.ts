/** A server URL as shown in messages: never with its password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    return parsed.toString().replace(/:@/, '@');
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1@');
  }
}
