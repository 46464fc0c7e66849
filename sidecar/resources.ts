/**
 * Host resources for hello and heartbeats: CPU count and load, RAM, and per-GPU VRAM from
 * `nvidia-smi --query-gpu=... --format=csv,noheader,nounits` when it is on PATH. Without it (or
 * when it fails) `gpus` is empty and `gpu_note` says why, so an operator can tell "no GPU" from
 * "GPU not visible to the sidecar".
 */
import { execFile } from 'node:child_process';
import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import type { GpuInfo, HostResources } from '../shared/protocol.js';

export const NVIDIA_SMI_ARGS = ['--query-gpu=index,name,memory.total,memory.used,utilization.gpu', '--format=csv,noheader,nounits'];

const MB = 1024 * 1024;

/** Parses nvidia-smi's CSV (no header, no units): `0, NVIDIA H100 80GB HBM3, 81559, 1234, 7`. */
export function parseNvidiaSmiCsv(csv: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of csv.split('\n')) {
    if (line.trim() === '') continue;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 4) continue;
    const [index, name, total, used, util] = cells;
    const gpu: GpuInfo = {
      index: Number(index),
      name: name ?? '',
      vram_total_mb: Number(total),
      vram_used_mb: Number(used),
    };
    const u = Number(util);
    if (util !== undefined && Number.isFinite(u)) gpu.utilization_pct = u;
    if (!Number.isInteger(gpu.index) || !Number.isFinite(gpu.vram_total_mb) || !Number.isFinite(gpu.vram_used_mb)) continue;
    gpus.push(gpu);
  }
  return gpus;
}

function queryGpus(binary: string, timeoutMs: number): Promise<{ gpus: GpuInfo[]; note?: string }> {
  return new Promise((resolve) => {
    execFile(binary, NVIDIA_SMI_ARGS, { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ gpus: [], note: code === 'ENOENT' ? 'nvidia-smi not found' : `nvidia-smi failed: ${err.message.split('\n')[0]}` });
        return;
      }
      const gpus = parseNvidiaSmiCsv(stdout);
      resolve(gpus.length > 0 ? { gpus } : { gpus, note: 'nvidia-smi listed no GPUs' });
    });
  });
}

export interface ResourceOptions {
  /** @defaultValue 'nvidia-smi' (found on PATH) */
  nvidiaSmi: string;
  /** @defaultValue 5000 */
  timeoutMs: number;
}

export async function readHostResources(opts: Partial<ResourceOptions> = {}): Promise<HostResources> {
  const { gpus, note } = await queryGpus(opts.nvidiaSmi ?? 'nvidia-smi', opts.timeoutMs ?? 5000);
  const resources: HostResources = {
    cpu_count: availableParallelism(),
    load_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    ram_total_mb: Math.round(totalmem() / MB),
    ram_free_mb: Math.round(freemem() / MB),
    gpus,
  };
  if (note) resources.gpu_note = note;
  return resources;
}
