// pm2 apps for Switchyard. `.cjs` because the package is ESM and pm2 loads its config with require().
//   hub machine:  npx pm2 start ecosystem.config.cjs --only switchyard-hub
//   agent hosts:  npx pm2 start ecosystem.config.cjs --only switchyard-sidecar
// Then `npx pm2 save` and `npx pm2 startup` to survive reboots. Build first: npm ci && npm run build.
module.exports = {
  apps: [
    {
      name: 'switchyard-hub',
      script: 'dist/cli/switchyard.js',
      args: 'hub',
      // A larger young generation: the hub's objects mostly die within one group commit, and
      // bench:dispatch measured 15% less CPU per cycle with it.
      node_args: ['--max-semi-space-size=64'],
      env: {
        SWITCHYARD_DATA: '/var/lib/switchyard',
        SWITCHYARD_HOST: '127.0.0.1', // 0.0.0.0 to accept sidecars from other hosts
        SWITCHYARD_PORT: '7070',
      },
      // The hub closes its sockets and stores on SIGINT; give it time to finish the last batch.
      kill_timeout: 10000,
      max_restarts: 50,
      exp_backoff_restart_delay: 200,
    },
    {
      name: 'switchyard-sidecar',
      script: 'dist/cli/switchyard.js',
      args: 'sidecar',
      env: {
        SWITCHYARD_HUB: 'http://127.0.0.1:7070',
        SWITCHYARD_AGENT_ID: 'change-me',
        SWITCHYARD_TOKEN: 'from `switchyard agent add`',
        SWITCHYARD_SIDECAR_DATA: '/var/lib/switchyard-sidecar',
        SWITCHYARD_EXECUTORS: 'shell',
      },
      // pm2 stops with SIGINT; the sidecar drains (up to SWITCHYARD_DRAIN_GRACE_MS) before exiting.
      kill_timeout: 35000,
      max_restarts: 50,
      exp_backoff_restart_delay: 200,
    },
  ],
};
