import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../errors.js';

/**
 * The sandbox process's entry file. From the build that is `sandbox-child.js` next to this
 * module. Loaded from TypeScript sources (vitest runs `src/` directly) there is no runnable
 * child next to it, so the compiled `dist/sandbox/sandbox-child.js` is used: `npm test` builds it
 * first (`pretest`). A build older than the sources would test old code, so that is an error.
 */
export function resolveChildPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(dirname(here), 'sandbox-child.js');
  const src = join(dirname(here), '..');
  const dist = join(src, '..', 'dist');
  const child = join(dist, 'sandbox', 'sandbox-child.js');
  const stale = [
    ...sourcesOf(join(src, 'sandbox')),
    join(src, 'store', 'user-fields.ts'),
    join(src, 'model', 'value-rules.ts'),
    join(src, 'errors.ts'),
  ].find((file) => {
    const built = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
    return !existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs;
  });
  if (stale !== undefined) {
    throw new InternalError(
      `the sandbox child in dist/ is missing or older than ${relative(join(src, '..'), stale)}: run \`npm run build\``,
    );
  }
  return child;
}

function sourcesOf(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesOf(path);
    // .py: the Python side of the sandbox bridge, copied as is by the build.
    return entry.name.endsWith('.ts') || entry.name.endsWith('.py') ? [path] : [];
  });
}
