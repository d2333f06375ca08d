// Copies the build's non-TypeScript files (the Python side of the sandbox bridge) into dist/.
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const from = join('src', 'sandbox', 'python');
for (const name of readdirSync(from)) {
  if (name.endsWith('.py')) cpSync(join(from, name), join('dist', 'sandbox', 'python', name));
}
