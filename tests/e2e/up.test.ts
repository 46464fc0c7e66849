/** The README's first command: `npm start` runs `switchyard up`; here with --exit so it ends. */
import { beforeAll, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ensureBuilt, tempDir } from '../support/processes.js';

beforeAll(() => ensureBuilt());

test('switchyard up starts a hub and two sidecars and runs the demo to completion', () => {
  const dir = tempDir('up');
  const res = spawnSync(process.execPath, [CLI, 'up', '--exit', '--port', '0', '--data', join(dir, '.switchyard')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const out = res.stdout + res.stderr;
  expect(res.status, out).toBe(0);
  expect(out).toContain('Demo done: 5/5 completed.');
  // Progress is printed as tasks move: the chain in order, and the retry of the flaky task.
  expect(out).toMatch(/Build\s+pending -> queued\s+\(dependencies completed\)/);
  expect(out).toMatch(/Flaky integration check.*running -> failed/);
  expect(out).toMatch(/Flaky integration check.*failed -> queued\s+\(backoff elapsed\)/);
  expect(out).toMatch(/sidecar local-1 started/);
  expect(out).toMatch(/sidecar local-2 started/);
  // The admin token file exists with mode 0600.
  const token = join(dir, '.switchyard', 'hub', 'admin.token');
  expect(existsSync(token)).toBe(true);
  expect(statSync(token).mode & 0o777).toBe(0o600);
  expect(out).toContain(token);

  // The stopped hub's store checks out: every index entry matches its record.
  const check = spawnSync(process.execPath, [CLI, 'hub', 'check', '--data', join(dir, '.switchyard', 'hub')], { encoding: 'utf8', timeout: 30_000 });
  expect(check.status, check.stdout + check.stderr).toBe(0);
  expect(check.stdout).toMatch(/^ok: 5 tasks/);
});
