/**
 * Which way imports point (docs/architecture.md). Checked by tests/imports.test.ts on every
 * `npm test`; `npm run check:imports` prints the same report.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle: split along a contract (STYLE.md, "Splitting a big class without making a circle").',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-imports-nothing-of-ours',
      severity: 'error',
      comment: 'shared/ is the wire contract both sides build on: it imports only itself and packages.',
      from: { path: '^shared/' },
      to: { path: '^(hub|sidecar|cli|bench|tests)/' },
    },
    {
      name: 'hub-never-imports-sidecar',
      severity: 'error',
      comment: 'The hub and the sidecar meet only on the wire (shared/protocol.ts).',
      from: { path: '^hub/' },
      to: { path: '^sidecar/' },
    },
    {
      name: 'sidecar-never-imports-hub',
      severity: 'error',
      comment: 'The hub and the sidecar meet only on the wire (shared/protocol.ts).',
      from: { path: '^sidecar/' },
      to: { path: '^hub/' },
    },
    {
      name: 'only-level-kv-imports-level',
      severity: 'error',
      comment:
        'LevelDB stays behind the Kv interface: only hub/store/level-kv.ts imports it (bench/queue.ts measures level itself as its raw baseline).',
      from: { pathNot: '^(hub/store/level-kv\\.ts|bench/queue\\.ts)$' },
      to: { path: '(^|/)node_modules/(level|classic-level|abstract-level|browser-level|memory-level)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
