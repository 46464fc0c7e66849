/**
 * What a benchmark figure depends on: the machine it was taken on. Printed at the top of every
 * bench so that figures from different machines are never compared by accident.
 */
import os from 'node:os';

export interface MachineInfo {
  /** `os.availableParallelism()`: the cores this process may use (cgroup limits included). */
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemBytes: number;
  /** 1-minute load average when the bench started: a busy machine gives noisy figures. */
  load1: number;
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    totalMemBytes: os.totalmem(),
    load1: os.loadavg()[0] ?? 0,
  };
}
