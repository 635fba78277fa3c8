import { z } from 'zod';
import { defineSection } from '../../hub/settings/registry.js';

export const workerSettings = defineSection({
  scope: 'forge',
  section: 'workers',
  description: 'Training workers of each node, retries and leases of training jobs',
  schema: z.strictObject({
    count: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(1)
      .describe('Workers each node runs (one training job each); a change scales running pools at once'),
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe('Attempts a job gets in all when its spec does not say; only transient failures retry'),
    backoff_base_seconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(10)
      .describe('Wait before the first retry; each next retry waits twice as long'),
    backoff_max_seconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(600)
      .describe('Longest wait between two attempts'),
    lease_seconds: z
      .number()
      .int()
      .min(2)
      .max(600)
      .default(30)
      .describe('A running job whose worker has not renewed its lease for this long is queued again'),
    heartbeat_seconds: z
      .number()
      .int()
      .min(1)
      .max(120)
      .default(5)
      .describe('How often a worker renews its lease (kept under a third of the lease)'),
    default_timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(6 * 3600)
      .describe('Longest one attempt may run when the spec does not say'),
  }),
});
export type WorkerSettings = z.infer<typeof workerSettings.schema>;

/** Lease and heartbeat in milliseconds; the heartbeat always leaves room for two misses. */
export function leaseTiming(s: WorkerSettings): { leaseMs: number; heartbeatMs: number } {
  const leaseMs = s.lease_seconds * 1000;
  return { leaseMs, heartbeatMs: Math.min(s.heartbeat_seconds * 1000, Math.floor(leaseMs / 3)) };
}
