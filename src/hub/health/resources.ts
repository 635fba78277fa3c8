import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';

/** Bytes of one resource, as the admin API reports them (seed 003 `disk_usage` / `memory_usage`). */
export interface Usage {
  total: number;
  used: number;
  free: number;
  usage_percent: number;
}

export type Level = 'healthy' | 'warning' | 'critical';

/**
 * Percent of use at which a resource is a concern. Disk fills up with artifacts and the embedded
 * database fails hard when it cannot write, so its bar is lower than memory's, where the kernel's
 * page cache already counts as available.
 */
export const THRESHOLDS = {
  disk: { warning: 85, critical: 95 },
  memory: { warning: 90, critical: 97 },
} as const;

const percent = (used: number, total: number) => (total > 0 ? Math.round((used / total) * 10_000) / 100 : 0);

/**
 * Usage of the filesystem holding `path`. `free` is what an unprivileged process may still write
 * (blocks reserved for root excluded), like df's "Avail"; statfs needs no child process.
 */
export async function diskUsage(path: string): Promise<Usage> {
  const s = await statfs(path);
  const total = s.blocks * s.bsize;
  const free = s.bavail * s.bsize;
  const used = (s.blocks - s.bfree) * s.bsize;
  return { total, used, free, usage_percent: percent(used, used + free) };
}

/** System memory; the kernel's reclaimable cache counts as free (libuv reads MemAvailable). */
export function memoryUsage(): Usage {
  const total = totalmem();
  const free = freemem();
  const used = total - free;
  return { total, used, free, usage_percent: percent(used, total) };
}

export function levelOf(usagePercent: number, t: { warning: number; critical: number }): Level {
  if (usagePercent >= t.critical) return 'critical';
  if (usagePercent >= t.warning) return 'warning';
  return 'healthy';
}

const SEVERITY: Record<Level, number> = { healthy: 0, warning: 1, critical: 2 };

export const worstLevel = (levels: Level[]): Level =>
  levels.reduce<Level>((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), 'healthy');

/** The version of this build, from package.json (the same relative path from src/ and dist/). */
export const POLAR_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
