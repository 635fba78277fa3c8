import { permissionsOf } from '../../hub/auth/permissions.js';
import type { RequestContext } from '../../hub/auth/principal.js';
import type { UserRow } from '../../hub/users/repository.js';
import { AppError } from '../../platform/errors.js';

/**
 * A search dispatches, cancels and registers as its owner with the role they hold now, as a
 * training job runs: an account disabled or deleted while the search went on gains nothing by it.
 */
export async function ownerContext(
  users: { byId(id: string): Promise<UserRow | undefined> },
  ownerId: string,
  searchId: string,
): Promise<RequestContext> {
  const user = await users.byId(ownerId);
  if (!user || user.disabled)
    throw new AppError(
      409,
      'owner_inactive',
      `The search's owner account is ${user ? 'disabled' : 'deleted'}`,
    );
  return {
    principal: {
      userId: user.id,
      username: user.username,
      role: user.role,
      permissions: permissionsOf(user.role),
      via: 'session',
    },
    requestId: `tune-${searchId}`,
    ip: '',
  };
}
