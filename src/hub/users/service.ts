import { z } from 'zod';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../platform/errors.js';
import type { EventBus } from '../../platform/events/bus.js';
import { INTERNAL_TOPIC } from '../../platform/events/bus.js';
import { decodeCursor, type Page, toPage } from '../../platform/http/pagination.js';
import type { AuditService } from '../audit/service.js';
import { hashPassword, verifyPassword } from '../auth/password.js';
import { roleIncludes } from '../auth/permissions.js';
import { can, type RequestContext } from '../auth/principal.js';
import { newId } from '../auth/tokens.js';
import type { KeyRepository, SessionRepository } from '../keys/repository.js';
import type { UserRepository } from './repository.js';
import type { CreateUserInput, UpdateUserInput } from './schema.js';
import { toUserView, type UserView } from './view.js';

const notFound = () => new NotFoundError('User');

export function createUserService(deps: {
  users: UserRepository;
  sessions: SessionRepository;
  keys: KeyRepository;
  audit: AuditService;
  bus: EventBus;
}) {
  /** Ends every way the user could still act: sessions, (optionally) keys, and open sockets on all nodes. */
  const cutOff = async (userId: string, opts: { keys: boolean; reason: string }) => {
    const sessions = await deps.sessions.deleteAllOf(userId);
    const keys = opts.keys ? await deps.keys.revokeAllOf(userId) : [];
    await deps.bus.publish({
      topic: INTERNAL_TOPIC,
      type: 'principal.revoked',
      data: { user_id: userId, session_ids: sessions, key_ids: keys, reason: opts.reason },
    });
    return { sessions_ended: sessions.length, keys_revoked: keys.length };
  };

  /** Tells subscribers of the 'users' topic; carries who, never password data. */
  const announce = async (
    type: string,
    u: { id: string; username: string; role: string; disabled: boolean },
  ) => {
    await deps.bus.publish({
      topic: 'users',
      type,
      data: { id: u.id, username: u.username, role: u.role, disabled: u.disabled },
    });
  };

  const ensureNotLastAdmin = async () => {
    if ((await deps.users.countActiveAdmins()) <= 1) {
      throw new ConflictError('This would leave Polar without an active admin', 'last_admin');
    }
  };

  return {
    async create(ctx: RequestContext, input: CreateUserInput): Promise<UserView> {
      try {
        const row = await deps.users.insert({
          id: newId(),
          username: input.username,
          passwordHash: await hashPassword(input.password),
          role: input.role,
          mustChangePassword: true,
        });
        await deps.audit.record(ctx, {
          action: 'user.create',
          targetType: 'user',
          targetId: row.id,
          details: { username: row.username, role: row.role },
        });
        await announce('user.created', row);
        return toUserView(row);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new ConflictError(`Username '${input.username}' is taken`, 'username_taken');
        throw err;
      }
    },

    async list(q: {
      limit: number;
      cursor?: string | undefined;
      search?: string | undefined;
      role?: UserView['role'] | undefined;
    }): Promise<Page<UserView>> {
      const afterId = decodeCursor(q.cursor, z.string());
      const rows = await deps.users.list({ ...q, afterId });
      return toPage(rows, q.limit, toUserView, (r) => r.id);
    },

    /** Admins see anyone; others only themselves (another id answers 404, as if it did not exist). */
    async get(ctx: RequestContext, id: string): Promise<UserView> {
      const p = ctx.principal!;
      if (id !== p.userId && !can(p, 'users:read')) throw notFound();
      const row = await deps.users.byId(id);
      if (!row) throw notFound();
      return toUserView(row);
    },

    async update(ctx: RequestContext, id: string, input: UpdateUserInput): Promise<UserView> {
      const p = ctx.principal!;
      const isAdmin = can(p, 'users:write');
      if (id !== p.userId && !isAdmin) throw notFound();
      if ((input.role !== undefined || input.disabled !== undefined) && !isAdmin) {
        throw new ForbiddenError('Only an admin can change role or disabled', 'forbidden_field');
      }
      const user = await deps.users.byId(id);
      if (!user) throw notFound();
      const patch: Parameters<UserRepository['update']>[1] = {};
      const changes: Record<string, unknown> = {};

      if (input.password !== undefined) {
        // Changing one's own password proves knowledge of the current one; an admin resetting another
        // user's password does not need it, and that user must choose a new one at next login.
        const self = id === p.userId;
        if (self) {
          if (input.current_password === undefined) {
            throw new ValidationError('current_password is required to change your password', [
              { path: 'body.current_password', message: 'required' },
            ]);
          }
          if (!(await verifyPassword(user.passwordHash, input.current_password))) {
            throw new ValidationError('The current password is not correct', undefined, 'wrong_password');
          }
        }
        patch.passwordHash = await hashPassword(input.password);
        patch.mustChangePassword = !self;
        changes.password = 'changed';
      }
      if (input.role !== undefined && input.role !== user.role) {
        if (user.role === 'admin' && !user.disabled) await ensureNotLastAdmin();
        patch.role = input.role;
        changes.role = { from: user.role, to: input.role };
      }
      if (input.disabled !== undefined && input.disabled !== user.disabled) {
        if (input.disabled && user.role === 'admin') await ensureNotLastAdmin();
        patch.disabled = input.disabled;
        changes.disabled = { from: user.disabled, to: input.disabled };
      }
      if (Object.keys(patch).length === 0) return toUserView(user);

      const updated = await deps.users.update(id, patch);
      if (!updated) throw notFound();
      let cut: Awaited<ReturnType<typeof cutOff>> | undefined;
      if (patch.disabled === true) {
        cut = await cutOff(id, { keys: false, reason: 'disabled' });
      } else if (patch.role !== undefined && !roleIncludes(patch.role, user.role)) {
        // A demotion ends sessions (they carried the old role); keys stay but are narrowed to the new
        // role at every request, so none can do what the new role cannot.
        cut = await cutOff(id, { keys: false, reason: 'demoted' });
      } else if (patch.passwordHash && id !== p.userId) {
        cut = await cutOff(id, { keys: false, reason: 'password_reset' });
      }
      await deps.audit.record(ctx, {
        action: 'user.update',
        targetType: 'user',
        targetId: id,
        details: { changes, ...(cut ?? {}) },
      });
      await announce('user.updated', updated);
      return toUserView(updated);
    },

    async delete(ctx: RequestContext, id: string): Promise<void> {
      const user = await deps.users.byId(id);
      if (!user) throw notFound();
      if (id === ctx.principal!.userId)
        throw new ConflictError('You cannot delete yourself', 'cannot_delete_self');
      if (user.role === 'admin' && !user.disabled) await ensureNotLastAdmin();
      await cutOff(id, { keys: true, reason: 'deleted' });
      await deps.users.delete(id);
      await deps.audit.record(ctx, {
        action: 'user.delete',
        targetType: 'user',
        targetId: id,
        details: { username: user.username },
      });
      await announce('user.deleted', user);
    },
  };
}
export type UserService = ReturnType<typeof createUserService>;
