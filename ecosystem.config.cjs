// pm2 apps for Switchyard. `.cjs` because the package is ESM and pm2 loads its config with
// require(): a `.js` file here would be an ES module and fail to load.
//   hub machine:  npx pm2 start ecosystem.config.cjs --only switchyard-hub
//   agent hosts:  prefer `switchyard onboard --hub URL --join TOKEN` (one pm2 app per agent, set up
//                 for you); or edit the sidecar below and: npx pm2 start ecosystem.config.cjs --only switchyard-sidecar
// Then `npx pm2 save`, and `npx pm2 startup` (it prints the one command to run as root) to survive
// reboots. Build first: npm ci && npm run build. Settings come from the environment pm2 is started
// in, with the defaults below; tests/onboard/pm2-lifecycle.test.ts starts the hub app from this file.
const path = require('node:path');

const CLI = path.join(__dirname, 'dist', 'cli', 'switchyard.js');
const env = (name, fallback) => process.env[name] ?? fallback;

module.exports = {
  apps: [
    {
      name: 'switchyard-hub',
      script: CLI,
      args: 'hub',
      // A larger young generation: the hub's objects mostly die within one group commit instead of
      // being promoted (bench:dispatch: ~15% less CPU per cycle; bench:queue: about half the store's).
      // The same list as hub/node-flags.ts (which bench:dispatch runs its hubs with), npm start and
      // bench:queue (tests/hub/node-flags.test.ts).
      node_args: ['--max-semi-space-size=64'],
      env: {
        SWITCHYARD_DATA: env('SWITCHYARD_DATA', '/var/lib/switchyard'),
        SWITCHYARD_HOST: env('SWITCHYARD_HOST', '127.0.0.1'), // 0.0.0.0 to accept sidecars from other hosts
        SWITCHYARD_PORT: env('SWITCHYARD_PORT', '7070'),
      },
      // The hub closes its sockets and stores on SIGINT; give it time to finish the last batch.
      kill_timeout: 10000,
      max_restarts: 50,
      exp_backoff_restart_delay: 200,
    },
    {
      name: 'switchyard-sidecar',
      script: CLI,
      args: 'sidecar',
      env: {
        SWITCHYARD_HUB: env('SWITCHYARD_HUB', 'http://127.0.0.1:7070'),
        SWITCHYARD_AGENT_ID: env('SWITCHYARD_AGENT_ID', 'change-me'),
        // A 0600 file with the token from `switchyard agent add`: a token in this environment
        // would sit in pm2's saved list (dump.pm2) and in `pm2 env`.
        SWITCHYARD_TOKEN_FILE: env('SWITCHYARD_TOKEN_FILE', '/var/lib/switchyard-sidecar/agent.token'),
        SWITCHYARD_SIDECAR_DATA: env('SWITCHYARD_SIDECAR_DATA', '/var/lib/switchyard-sidecar'),
        SWITCHYARD_EXECUTORS: env('SWITCHYARD_EXECUTORS', 'shell'),
      },
      // pm2 stops with SIGINT; the sidecar drains (up to SWITCHYARD_DRAIN_GRACE_MS) before exiting.
      kill_timeout: 35000,
      // Signal the sidecar alone: it ends its tasks' processes itself, after the drain.
      treekill: false,
      max_restarts: 50,
      exp_backoff_restart_delay: 200,
    },
  ],
};
