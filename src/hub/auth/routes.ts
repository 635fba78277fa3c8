import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserService } from '../users/service.js';
import { CSRF_COOKIE, SESSION_COOKIE } from './plugin.js';
import { loginBody, loginResponse, meResponse, passwordBody } from './schema.js';
import type { AuthService } from './service.js';
import { csrfTokenFor } from './tokens.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  csrfKey: Buffer;
  cookieSecure: boolean;
  /** Requests per minute per client IP on the login route. */
  loginPerMinute: () => number;
  users: UserService;
}

export const authRoutes: FastifyPluginAsyncZod<AuthRoutesOptions> = async (app, opts) => {
  app.post(
    '/auth/login',
    {
      config: { auth: 'public', rateLimit: { max: opts.loginPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['auth'],
        summary: 'Sign in; returns a session token and sets the session cookie',
        body: loginBody,
        response: { 200: loginResponse },
      },
    },
    async (request, reply) => {
      const r = await opts.auth.login(request.body, {
        ...request.ctx(),
        userAgent: request.headers['user-agent'],
      });
      const csrf = csrfTokenFor(r.sessionId, opts.csrfKey);
      const cookie = { path: '/', secure: opts.cookieSecure, expires: r.expiresAt };
      reply.setCookie(SESSION_COOKIE, r.token, { ...cookie, httpOnly: true, sameSite: 'lax' });
      reply.setCookie(CSRF_COOKIE, csrf, { ...cookie, httpOnly: false, sameSite: 'strict' });
      return { token: r.token, expires_at: r.expiresAt.toISOString(), csrf_token: csrf, user: r.user };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { auth: 'authenticated' },
      schema: { tags: ['auth'], summary: 'End the current session', response: { 204: z.null() } },
    },
    async (request, reply) => {
      await opts.auth.logout(request.ctx());
      reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(CSRF_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/me',
    {
      config: { auth: 'authenticated' },
      schema: {
        tags: ['auth'],
        summary: 'The caller: user, effective permissions, credential',
        response: { 200: meResponse },
      },
    },
    async (request) => {
      const p = request.principal!;
      return {
        user: await opts.users.get(request.ctx(), p.userId),
        permissions: [...p.permissions].sort(),
        via: p.via,
        key_id: p.keyId ?? null,
      };
    },
  );

  app.post(
    '/auth/password',
    {
      config: { auth: 'profile', rateLimit: { max: opts.loginPerMinute, timeWindow: 60_000 } },
      schema: {
        tags: ['auth'],
        summary: 'Change your own password (ends your other sessions)',
        body: passwordBody,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
      await opts.auth.changePassword(request.ctx(), request.body);
      return reply.code(204).send(null);
    },
  );
};
