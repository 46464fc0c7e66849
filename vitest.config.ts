import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The queue's conformance suite (tests/queue/): every test in it runs once per task store
 * backend, each run a project of its own that provides `storeBackend` to the suite's factory
 * (tests/support/queue-store.ts). Everything else runs once.
 */
const CONFORMANCE = ['tests/queue/**/*.test.ts'];
const BACKENDS = ['level', 'memory'] as const;

export default defineConfig({
  test: {
    // Real LevelDB folders, sockets and child processes: give slow CI machines room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores in CI: run files in parallel, but not more than the machine has.
    maxWorkers: 2,
    reporters: ['default', './tests/support/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'hub', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, ...CONFORMANCE] } },
      ...BACKENDS.map((backend) => ({
        extends: true,
        test: { name: `queue:${backend}`, include: CONFORMANCE, provide: { storeBackend: backend } },
      })),
    ],
  },
});
