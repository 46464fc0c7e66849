import { openTaskStore } from '../dist/hub/store/level-task-store.js';
import fs from 'node:fs';
const dir = '/tmp/enqprof'; fs.rmSync(dir, { recursive: true, force: true });
const store = await openTaskStore(dir, { autoSweep: false });
let i = 0; const spec = (n) => ({ title: `Fix flaky retry test in sidecar executor #${n}`, capabilities: ['node'], executor: 'claude' });
async function run(ms) { const end = performance.now() + ms; let n = 0; const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 1000 }, async () => { while (performance.now() < end) { await store.create(spec(i++), 'bench'); n++; } }));
  const c = process.cpuUsage(c0); console.log(`${Math.round(n / (ms / 1000))}/s  cpu ${((c.user + c.system) / n).toFixed(1)} us/enqueue`); }
await run(1500); await run(3000);
await store.close();
