/**
 * A full log device never stops the hub. A real hub process whose stdout is a file on a small
 * tmpfs (its data folder elsewhere): once the tmpfs is full the hub keeps answering health and
 * task creation, counts the log lines it dropped (health `log.dropped`), and once space returns
 * it is still running (no exit on ENOSPC) and logs again, saying how many lines were lost.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ResilientDestination, droppedLogLines } from '../../shared/logger.js';
import type { Health } from '../../shared/rest.js';
import { ADMIN, CLI, api, ensureBuilt, freePort, tempDir, waitFor } from '../support/processes.js';
import { tmpfsAfterEach } from '../support/tmpfs.js';

const mount = tmpfsAfterEach();
const children: Array<ReturnType<typeof spawn>> = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }
  }
});
beforeAll(() => ensureBuilt());

describe('the logger on a full device', () => {
  it('drops and counts a line the fd refuses, never throws, and says how many it lost once it writes again', async () => {
    const fs = await mount(256);
    const path = join(fs.dir, 'log');
    const fd = openSync(path, 'a');
    try {
      const dest = new ResilientDestination(fd);
      dest.write('{"msg":"first"}\n');
      await fs.fill(0);
      const before = droppedLogLines();
      // Enough to overflow whatever is left of the file's last page.
      for (let i = 0; i < 50; i++) dest.write(`${JSON.stringify({ msg: 'while full', i, pad: 'p'.repeat(1000) })}\n`);
      expect(droppedLogLines()).toBeGreaterThan(before);
      const lost = droppedLogLines() - before;
      await fs.free();
      dest.write('{"msg":"after"}\n');
      const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
      // A line the disk took only part of stays cut; the next line starts on a line of its own.
      const parsed = lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as { msg: string; dropped?: number }];
        } catch {
          return [];
        }
      });
      expect(lines.length - parsed.length).toBeLessThanOrEqual(1);
      const report = parsed.find((l) => l.msg.startsWith('log lines were dropped'));
      expect(report?.dropped).toBe(lost);
      expect(lines.at(-1)).toBe('{"msg":"after"}');
    } finally {
      closeSync(fd);
    }
  });

  it('keeps a hub serving while its stdout is a full file, and it logs again once space returns', async () => {
    const fs = await mount(512);
    const logPath = join(fs.dir, 'hub.log');
    const out = openSync(logPath, 'a');
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'hub', '--data', tempDir('full-log'), '--port', String(port)], {
      env: { ...process.env, SWITCHYARD_ADMIN_TOKEN: ADMIN, SWITCHYARD_LOG_LEVEL: 'debug' },
      stdio: ['ignore', out, 'pipe'],
    });
    closeSync(out);
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the hub to listen', () => readFileSync(logPath, 'utf8').includes('hub listening'));

    await fs.fill(0);
    const sizeAtFill = readFileSync(logPath).length;
    // Each request logs (debug: request and response lines): far more than the last page holds.
    for (let i = 0; i < 40; i++) {
      const created = await api<{ id: string }>(url, 'POST', '/v1/tasks', { title: `while the log is full ${i}`, description: 'q'.repeat(2000) });
      expect(created.status).toBe(201);
    }
    const health = await api<Health>(url, 'GET', '/v1/health');
    expect(health.status).toBe(200);
    expect(health.body.log.dropped).toBeGreaterThan(0);
    expect(child.exitCode).toBeNull();

    await fs.free();
    const size = readFileSync(logPath).length;
    expect((await api(url, 'POST', '/v1/tasks', { title: 'after space returned' })).status).toBe(201);
    await waitFor('the hub to log again', () => readFileSync(logPath).length > size);
    // (A line the hub logged as space returned may hold the report: look from the fill on.)
    expect(readFileSync(logPath, 'utf8').slice(sizeAtFill)).toContain('log lines were dropped');
    const again = await api<Health>(url, 'GET', '/v1/health');
    expect(again.status).toBe(200);
    expect(again.body.log.dropped).toBeGreaterThanOrEqual(health.body.log.dropped);
    expect(child.exitCode, `the hub exited; stderr: ${stderr}`).toBeNull();
    expect(stderr).not.toMatch(/ENOSPC|Unhandled/);
  });
});
