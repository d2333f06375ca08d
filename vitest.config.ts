import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // isolated-vm needs --no-node-snapshot, which NODE_OPTIONS refuses: pass it to the workers.
    pool: 'forks',
    // Most test time is spent waiting: on sandbox child processes and on the database servers.
    // vitest's default (CPUs - 1) would run one file at a time on a 2-core machine.
    maxWorkers: 4,
    execArgv: ['--no-node-snapshot'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
