import { z } from 'zod';
import { password, userView } from '../users/schema.js';

export const loginBody = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
});

export const loginResponse = z
  .object({ token: z.string(), expires_at: z.string(), csrf_token: z.string(), user: userView })
  .meta({ id: 'LoginResponse' });
export type LoginResponse = z.infer<typeof loginResponse>;

export const meResponse = z
  .object({
    user: userView,
    permissions: z.array(z.string()),
    via: z.enum(['session', 'key']),
    key_id: z.string().nullable(),
  })
  .meta({ id: 'Me' });
export type MeResponse = z.infer<typeof meResponse>;

export const passwordBody = z.strictObject({
  current_password: z.string().min(1).max(256),
  new_password: password,
});
