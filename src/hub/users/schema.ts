import { z } from 'zod';
import { ROLES } from '../auth/permissions.js';

export const username = z
  .string()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)');
/** Bounded so hashing cost cannot be abused with huge inputs. */
export const password = z.string().min(8, 'at least 8 characters').max(256);
export const role = z.enum(ROLES);

/** The public shape of a user: never the password hash. */
export const userView = z
  .object({
    id: z.string(),
    username: z.string(),
    role,
    disabled: z.boolean(),
    must_change_password: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
    last_login_at: z.string().nullable(),
  })
  .meta({ id: 'User' });
export type UserView = z.infer<typeof userView>;

export const createUserBody = z.strictObject({ username, password, role: role.default('user') });
export type CreateUserInput = z.infer<typeof createUserBody>;

/** role/disabled are admin-only; a user may change only their own password (with the current one). */
export const updateUserBody = z.strictObject({
  role: role.optional(),
  disabled: z.boolean().optional(),
  password: password.optional(),
  current_password: z.string().max(256).optional(),
});
export type UpdateUserInput = z.infer<typeof updateUserBody>;

export const listUsersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  search: z.string().max(64).optional(),
  role: role.optional(),
});

export const userIdParams = z.object({ id: z.string().min(1).max(64) });
