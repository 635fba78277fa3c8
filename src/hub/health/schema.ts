import { z } from 'zod';

const status = z.enum(['ok', 'degraded', 'down']);

export const componentReport = z
  .object({
    status,
    latency_ms: z.number(),
    message: z.string().optional(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'HealthComponent' });
export type HealthComponent = z.infer<typeof componentReport>;

export const liveness = z.object({ status: z.literal('ok') }).meta({ id: 'Liveness' });

export const readiness = z
  .object({ status: z.literal('ready'), checks: z.record(z.string(), componentReport) })
  .meta({ id: 'Readiness' });
export type Readiness = z.infer<typeof readiness>;

export const detailedHealth = z
  .object({
    status,
    version: z.string(),
    uptime_seconds: z.number().int(),
    checked_at: z.string(),
    components: z.record(z.string(), componentReport),
  })
  .meta({ id: 'DetailedHealth' });
export type DetailedHealth = z.infer<typeof detailedHealth>;
