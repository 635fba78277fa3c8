import type { UserRow } from './repository.js';
import type { UserView } from './schema.js';

export type { UserView };

export const toUserView = (u: UserRow): UserView => ({
  id: u.id,
  username: u.username,
  role: u.role,
  disabled: u.disabled,
  must_change_password: u.mustChangePassword,
  created_at: u.createdAt.toISOString(),
  updated_at: u.updatedAt.toISOString(),
  last_login_at: u.lastLoginAt?.toISOString() ?? null,
});
