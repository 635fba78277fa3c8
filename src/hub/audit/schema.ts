import { z } from 'zod';

const outcome = z.enum(['success', 'failure', 'denied']);

export const auditRecord = z
  .object({
    id: z.string(),
    at: z.string(),
    actor_id: z.string().nullable(),
    actor_name: z.string().nullable(),
    actor_kind: z.string(),
    action: z.string(),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    outcome,
    request_id: z.string().nullable(),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AuditRecord' });
export type AuditRecord = z.infer<typeof auditRecord>;

export const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  actor_id: z.string().max(64).optional(),
  action: z.string().max(100).optional(),
  target_type: z.string().max(64).optional(),
  target_id: z.string().max(200).optional(),
  outcome: outcome.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});
