import { z } from 'zod';
import { PERMISSIONS } from '../auth/permissions.js';

export const scope = z.enum(PERMISSIONS);

export const createKeyBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    /** Defaults to every permission the owner has now. */
    scopes: z.array(scope).min(1).max(PERMISSIONS.length).optional(),
    expires_at: z.iso.datetime({ offset: true }).optional(),
    expires_in_days: z.number().int().min(1).max(3650).optional(),
  })
  .refine((b) => !(b.expires_at && b.expires_in_days), {
    message: 'give expires_at or expires_in_days, not both',
    path: ['expires_in_days'],
  });
export type CreateKeyInput = z.infer<typeof createKeyBody>;

export const keyView = z
  .object({
    id: z.string(),
    name: z.string(),
    user_id: z.string(),
    scopes: z.array(z.string()),
    last4: z.string(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });
export type KeyView = z.infer<typeof keyView>;

export const createdKey = keyView.extend({ key: z.string() }).meta({ id: 'CreatedApiKey' });
export type CreatedKey = z.infer<typeof createdKey>;

export const listKeysQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  /** Admins only: another user's keys. */
  user_id: z.string().max(64).optional(),
  /** Admins only: every user's keys. */
  all: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  include_revoked: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});
export const keyIdParams = z.object({ id: z.string().min(1).max(64) });
