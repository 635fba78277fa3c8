import type { UserRow } from './repository.js';

/** The public shape of a user: never the password hash. */
export interface UserView {
  id: string;
  username: string;
  role: UserRow['role'];
  disabled: boolean;
  must_change_password: boolean;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
}

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
