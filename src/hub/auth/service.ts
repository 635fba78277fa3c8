import { randomBytes } from 'node:crypto';
import { type EventBus, INTERNAL_TOPIC } from '../../platform/events/bus.js';
import type { AuditService } from '../audit/service.js';
import type { KeyRepository, SessionRepository } from '../keys/repository.js';
import type { UserRepository, UserRow } from '../users/repository.js';
import { toUserView, type UserView } from '../users/view.js';
import {
  accountDisabled,
  invalidCredentials,
  invalidToken,
  keyRevoked,
  tokenExpired,
  wrongPassword,
} from './errors.js';
import { dummyHash, hashPassword, verifyPassword } from './password.js';
import { isPermission, type Permission, permissionsOf } from './permissions.js';
import type { Principal, RequestContext } from './principal.js';
import { issueToken, KEY_PREFIX, newId, parseToken, SESSION_PREFIX, secretMatches } from './tokens.js';

/** last_seen/last_used are written at most this often per token, so reads stay reads. */
const TOUCH_EVERY_MS = 60_000;

export interface AuthDeps {
  users: UserRepository;
  sessions: SessionRepository;
  keys: KeyRepository;
  audit: AuditService;
  /**
   * Tells every node which sessions ended, so sockets opened with them close too. buildApp always
   * passes it; tests of login alone may leave it out.
   */
  bus?: EventBus;
  /** Session lifetime, read at each login so a settings change applies to new sessions at once. */
  sessionTtlMs: () => number;
  now?: () => Date;
}

export interface LoginResult {
  token: string;
  sessionId: string;
  expiresAt: Date;
  user: UserView;
}

export function createAuthService(deps: AuthDeps) {
  const now = deps.now ?? (() => new Date());
  const touched = new Map<string, number>();
  const shouldTouch = (id: string, t: number) => {
    const last = touched.get(id) ?? 0;
    if (t - last < TOUCH_EVERY_MS) return false;
    if (touched.size > 10_000) touched.clear();
    touched.set(id, t);
    return true;
  };

  const sessionsEnded = async (userId: string, sessionIds: string[], reason: string) => {
    await deps.bus?.publish({
      topic: INTERNAL_TOPIC,
      type: 'principal.revoked',
      data: { user_id: userId, session_ids: sessionIds, key_ids: [], reason },
    });
  };

  const activeUser = async (userId: string): Promise<UserRow> => {
    const user = await deps.users.byId(userId);
    if (!user) throw invalidToken();
    if (user.disabled) throw accountDisabled();
    return user;
  };

  return {
    async login(
      input: { username: string; password: string },
      ctx: RequestContext & { userAgent?: string | undefined },
    ): Promise<LoginResult> {
      const user = await deps.users.byUsername(input.username);
      const ok = await verifyPassword(user?.passwordHash ?? (await dummyHash()), input.password);
      if (!user || !ok || user.disabled) {
        await deps.audit.record(ctx, {
          action: 'auth.login',
          outcome: 'failure',
          actorName: input.username.slice(0, 64),
          ...(user ? { targetType: 'user', targetId: user.id } : {}),
          details: { reason: !user || !ok ? 'invalid_credentials' : 'account_disabled' },
        });
        if (user && ok && user.disabled) throw accountDisabled();
        throw invalidCredentials();
      }
      const issued = issueToken(SESSION_PREFIX);
      const t = now();
      const expiresAt = new Date(t.getTime() + deps.sessionTtlMs());
      await deps.sessions.insert({
        id: issued.id,
        userId: user.id,
        secretHash: issued.secretHash,
        expiresAt,
        createdAt: t,
        lastSeenAt: t,
        ip: ctx.ip || null,
        userAgent: ctx.userAgent?.slice(0, 256) ?? null,
      });
      const updated = (await deps.users.update(user.id, { lastLoginAt: t })) ?? user;
      const principal: Principal = {
        userId: user.id,
        username: user.username,
        role: user.role,
        permissions: permissionsOf(user.role),
        via: 'session',
        sessionId: issued.id,
      };
      await deps.audit.record(
        { ...ctx, principal },
        { action: 'auth.login', targetType: 'user', targetId: user.id },
      );
      return { token: issued.token, sessionId: issued.id, expiresAt, user: toUserView(updated) };
    },

    async logout(ctx: RequestContext): Promise<void> {
      const p = ctx.principal;
      if (p?.sessionId) {
        await deps.sessions.delete(p.sessionId);
        await sessionsEnded(p.userId, [p.sessionId], 'logout');
      }
      await deps.audit.record(ctx, { action: 'auth.logout', targetType: 'user', targetId: p?.userId ?? '' });
    },

    /** Resolves a bearer token (session or API key) to a principal, or throws a 401 error. */
    async authenticate(token: string): Promise<Principal> {
      const parsed = parseToken(token);
      if (!parsed) throw invalidToken();
      const t = now();
      if (parsed.prefix === SESSION_PREFIX) {
        const s = await deps.sessions.byId(parsed.id);
        if (!s || !secretMatches(parsed.secret, s.secretHash)) throw invalidToken();
        if (s.expiresAt.getTime() <= t.getTime()) throw tokenExpired();
        const user = await activeUser(s.userId);
        if (shouldTouch(s.id, t.getTime())) await deps.sessions.touch(s.id, t);
        return {
          userId: user.id,
          username: user.username,
          role: user.role,
          permissions: permissionsOf(user.role),
          via: 'session',
          sessionId: s.id,
          expiresAt: s.expiresAt,
        };
      }
      if (parsed.prefix === KEY_PREFIX) {
        const k = await deps.keys.byId(parsed.id);
        if (!k || !secretMatches(parsed.secret, k.secretHash)) throw invalidToken();
        if (k.revokedAt) throw keyRevoked();
        if (k.expiresAt && k.expiresAt.getTime() <= t.getTime()) throw tokenExpired();
        const user = await activeUser(k.userId);
        if (shouldTouch(k.id, t.getTime())) await deps.keys.touch(k.id, t);
        // The owner's current role bounds the key: a demotion narrows every key at once.
        const role = permissionsOf(user.role);
        const permissions = new Set<Permission>(
          k.scopes.filter((s): s is Permission => isPermission(s) && role.has(s)),
        );
        return {
          userId: user.id,
          username: user.username,
          role: user.role,
          permissions,
          via: 'key',
          keyId: k.id,
          ...(k.expiresAt ? { expiresAt: k.expiresAt } : {}),
        };
      }
      throw invalidToken();
    },

    /** Changes the caller's own password and ends their other sessions. */
    async changePassword(
      ctx: RequestContext,
      input: { current_password: string; new_password: string },
    ): Promise<void> {
      const p = ctx.principal!;
      const user = await activeUser(p.userId);
      if (!(await verifyPassword(user.passwordHash, input.current_password))) {
        await deps.audit.record(ctx, {
          action: 'auth.password_change',
          outcome: 'failure',
          targetType: 'user',
          targetId: user.id,
          details: { reason: 'wrong_password' },
        });
        throw wrongPassword();
      }
      await deps.users.update(user.id, {
        passwordHash: await hashPassword(input.new_password),
        mustChangePassword: false,
      });
      const ended = await deps.sessions.deleteAllOf(user.id, p.sessionId);
      if (ended.length > 0) await sessionsEnded(user.id, ended, 'password_changed');
      await deps.audit.record(ctx, {
        action: 'auth.password_change',
        targetType: 'user',
        targetId: user.id,
        details: { sessions_ended: ended.length },
      });
    },

    /**
     * Creates the first admin when there are no users. Returns the generated password (to print once)
     * or null when POLAR_ADMIN_PASSWORD was used or users already exist.
     */
    async bootstrapAdmin(opts: {
      username: string;
      password: string | undefined;
    }): Promise<{ username: string; password: string | null } | null> {
      if ((await deps.users.countAll()) > 0) return null;
      const generated = opts.password ? null : randomBytes(12).toString('base64url');
      try {
        const user = await deps.users.insert({
          id: newId(),
          username: opts.username,
          passwordHash: await hashPassword(opts.password ?? generated!),
          role: 'admin',
          mustChangePassword: generated !== null,
        });
        await deps.audit.record(
          { principal: null, requestId: 'system', ip: '' },
          {
            action: 'user.bootstrap_admin',
            targetType: 'user',
            targetId: user.id,
            details: { username: user.username },
          },
        );
      } catch {
        // Another node created it first.
        return null;
      }
      return { username: opts.username, password: generated };
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;
