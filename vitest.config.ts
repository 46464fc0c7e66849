import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Real LevelDB folders, sockets and child processes: give slow CI machines room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores in CI: run files in parallel, but not more than the machine has.
    maxWorkers: 2,
    reporters: ['default', './tests/support/summary-reporter.ts'],
  },
});
