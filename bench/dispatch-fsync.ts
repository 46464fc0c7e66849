/**
 * The dispatch bench's disk baseline: the latency of ONE fsync'd LevelDB batch, one at a time, on
 * the disk the hubs' data folders are on. The batch is what an enqueue that is placed at once
 * writes (the create and the lease in one batch: two task records, two events and their index
 * keys), so enqueue-to-assign on an idle fleet can be read against it: the hub's figure adds the
 * HTTP request, the serial path and the task.assign frame to one such write.
 */
import { openLevelKv } from '../hub/store/level-kv.js';
import type { KvOp } from '../hub/store/kv.js';
import { summarize, type LatencySummary } from './support/percentiles.js';
import { removeDir, tempDir } from './support/temp.js';
import { clock } from './support/timing.js';

const RECORD = JSON.stringify({ id: '01JBENCH000000000000000000', title: 'dispatch bench', status: 'assigned', pad: 'x'.repeat(640) });
const EVENT = JSON.stringify({ id: '01JBENCH000000000000000001', task_id: '01JBENCH000000000000000000', type: 'assigned', pad: 'x'.repeat(120) });

export async function fsyncBatchLatency(samples: number, dir: string | undefined): Promise<LatencySummary> {
  const folder = tempDir('sy-bench-fsync', dir);
  // Through the hub's own Kv (hub/store/level-kv.ts): its LevelDB settings and its chained batch.
  const kv = await openLevelKv(folder);
  try {
    let n = 0;
    const one = async (): Promise<number> => {
      const id = String(n++).padStart(26, '0');
      const now = String(Date.now()).padStart(13, '0');
      const ops: KvOp[] = [
        { type: 'put', key: `t!${id}`, value: RECORD },
        { type: 'put', key: `s!queued!${id}`, value: '' },
        { type: 'put', key: `r!node!normal!${now}!${id}`, value: '' },
        { type: 'put', key: `e!${id}a`, value: EVENT },
        { type: 'put', key: `t!${id}`, value: RECORD },
        { type: 'del', key: `s!queued!${id}` },
        { type: 'put', key: `l!${now}!${id}`, value: '' },
        { type: 'put', key: `e!${id}b`, value: EVENT },
      ];
      const start = clock();
      await kv.write(ops, true);
      return clock() - start;
    };
    for (let i = 0; i < 20; i++) await one();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await one());
    return summarize(times);
  } finally {
    await kv.close();
    removeDir(folder);
  }
}
