#!/usr/bin/env node
// The entry point: the only place that sets the exit code. Run through bin/usrun (the pinned
// Node); the sandbox process it forks gets --no-node-snapshot for isolated-vm.
import { exitCodeFor } from './exit-code-for.js';
import { processIo } from './io.js';
import { buildProgram } from './program.js';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const io = processIo();
if (major < 22 || (major === 22 && minor < 12)) {
  io.err(`usrun: Node.js 22.12 or newer is required (this is ${process.versions.node})\n`);
  process.exitCode = 2;
} else {
  try {
    await buildProgram(io).parseAsync(process.argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error, io);
  }
}
