/**
 * Host resources: a stub `nvidia-smi` on PATH prints what the real one prints for our query
 * (CSV, no header, no units, ", " between fields), and the sidecar's reader parses it through the
 * same code path that runs against the real binary.
 */
import { describe, expect, test } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv, readHostResources } from '../../sidecar/resources.js';
import { tempDir } from '../support/processes.js';

/** Output of `nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu --format=csv,noheader,nounits` on a two-GPU host. */
const TWO_GPUS = '0, NVIDIA H100 80GB HBM3, 81559, 1024, 37\n1, NVIDIA H100 80GB HBM3, 81559, 0, 0\n';

function stubNvidiaSmi(output: string, exitCode = 0): string {
  const dir = tempDir('nvsmi');
  const path = join(dir, 'nvidia-smi');
  // The stub checks that it was asked the exact query, as the real binary would be.
  writeFileSync(
    path,
    `#!/bin/sh\nif [ "$*" != "${NVIDIA_SMI_ARGS.join(' ')}" ]; then echo "unexpected args: $*" >&2; exit 2; fi\nprintf '%s' '${output}'\nexit ${exitCode}\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe('host resources', () => {
  test('reads VRAM per GPU from nvidia-smi', async () => {
    const r = await readHostResources({ nvidiaSmi: stubNvidiaSmi(TWO_GPUS) });
    expect(r.gpus).toEqual([
      { index: 0, name: 'NVIDIA H100 80GB HBM3', vram_total_mb: 81559, vram_used_mb: 1024, utilization_pct: 37 },
      { index: 1, name: 'NVIDIA H100 80GB HBM3', vram_total_mb: 81559, vram_used_mb: 0, utilization_pct: 0 },
    ]);
    expect(r.gpu_note).toBeUndefined();
    expect(r.cpu_count).toBeGreaterThan(0);
    expect(r.ram_total_mb).toBeGreaterThan(r.ram_free_mb - 1);
  });

  test('the stub on PATH is found by the default command name', async () => {
    const stub = stubNvidiaSmi(TWO_GPUS);
    const oldPath = process.env.PATH;
    process.env.PATH = `${join(stub, '..')}:${oldPath}`;
    try {
      const r = await readHostResources();
      expect(r.gpus).toHaveLength(2);
    } finally {
      process.env.PATH = oldPath;
    }
  });

  test('fields nvidia-smi reports as [N/A] leave out utilisation, not the GPU', () => {
    expect(parseNvidiaSmiCsv('0, NVIDIA A100-SXM4-40GB MIG 1g.5gb, 4864, 13, [N/A]\n')).toEqual([
      { index: 0, name: 'NVIDIA A100-SXM4-40GB MIG 1g.5gb', vram_total_mb: 4864, vram_used_mb: 13 },
    ]);
  });

  test('no nvidia-smi: no GPUs, and a note that says why', async () => {
    const r = await readHostResources({ nvidiaSmi: join(tempDir('none'), 'nvidia-smi') });
    expect(r.gpus).toEqual([]);
    expect(r.gpu_note).toBe('nvidia-smi not found');
  });

  test('nvidia-smi failing (driver not loaded) is reported, not thrown', async () => {
    const r = await readHostResources({ nvidiaSmi: stubNvidiaSmi('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.', 9) });
    expect(r.gpus).toEqual([]);
    expect(r.gpu_note).toMatch(/^nvidia-smi failed/);
  });
});
