import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, UnauthorizedError } from '../../platform/errors.js';
import { csrfFailed, invalidToken, missingPermission } from './errors.js';
import type { Permission } from './permissions.js';
import type { Principal, RequestContext } from './principal.js';
import type { AuthService } from './service.js';
import { csrfMatches } from './tokens.js';

export const SESSION_COOKIE = 'polar_session';
export const CSRF_COOKIE = 'polar_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** What a route requires. Every route must say; there is no default (deny by default). */
export type RouteAuth = 'public' | 'authenticated' | Permission;

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyInstance {
    /** Every route with what it requires, for the docs and the route × role test sweep. */
    routeAuth: { method: string; url: string; auth: RouteAuth; websocket: boolean }[];
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** How the principal authenticated on this request. */
    credential: 'bearer' | 'cookie' | 'metrics-token' | null;
    /** The request's context for services (caller, request id, client IP). */
    ctx(): RequestContext;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface AuthPluginOptions {
  auth: AuthService;
  csrfKey: Buffer;
  metricsToken?: string | undefined;
  /** Route prefixes registered by third-party plugins (Swagger UI) that are public by nature. */
  publicPrefixes?: string[];
}

function bearerOf(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer ([^\s]+)$/i.exec(h);
  if (!m)
    throw new UnauthorizedError(
      'The Authorization header must be "Bearer <token>"',
      'invalid_authorization_header',
    );
  return m[1];
}

function metricsPrincipal(): Principal {
  return {
    userId: 'metrics',
    username: 'metrics',
    role: 'user',
    permissions: new Set<Permission>(['metrics:read']),
    via: 'key',
  };
}

async function plugin(app: FastifyInstance, opts: AuthPluginOptions) {
  const publicPrefixes = opts.publicPrefixes ?? [];
  const metricsToken = opts.metricsToken ? Buffer.from(opts.metricsToken) : undefined;

  app.decorateRequest('principal', null);
  app.decorateRequest('credential', null);
  app.decorateRequest('ctx', function (this: FastifyRequest): RequestContext {
    return { principal: this.principal, requestId: String(this.id), ip: this.ip };
  });

  const routeAuth: FastifyInstance['routeAuth'] = [];
  app.decorate('routeAuth', routeAuth);
  app.addHook('onRoute', (route) => {
    if (!route.config?.auth) {
      if (!publicPrefixes.some((p) => route.url.startsWith(p))) {
        throw new Error(`Route ${route.method} ${route.url} does not declare config.auth`);
      }
      route.config = { ...(route.config ?? {}), auth: 'public' };
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      routeAuth.push({
        method,
        url: route.url,
        auth: route.config.auth as RouteAuth,
        websocket: Boolean(route.websocket),
      });
    }
  });

  app.addHook('onRequest', async (request: FastifyRequest, _reply: FastifyReply) => {
    const required = request.routeOptions.config.auth ?? 'authenticated';
    let token: string | undefined;
    try {
      token = bearerOf(request);
    } catch (err) {
      if (required !== 'public') throw err;
    }
    let credential: FastifyRequest['credential'] = token ? 'bearer' : null;
    if (!token) {
      token = request.cookies?.[SESSION_COOKIE];
      if (token) credential = 'cookie';
    }
    if (token) {
      if (
        metricsToken &&
        credential === 'bearer' &&
        token.length === metricsToken.length &&
        timingSafeEqual(Buffer.from(token), metricsToken)
      ) {
        // The metrics token is a scraper's credential for /metrics and nothing else: anywhere else it
        // is as good as no token at all.
        if (required !== 'metrics:read') throw invalidToken();
        request.principal = metricsPrincipal();
        request.credential = 'metrics-token';
      } else {
        try {
          request.principal = await opts.auth.authenticate(token);
          request.credential = credential;
        } catch (err) {
          // A stale cookie on a public page is not an error; on a protected route it is.
          if (required !== 'public' || !(err instanceof AppError)) throw err;
        }
      }
    }
    if (required === 'public') return;
    const p = request.principal;
    if (!p) throw new UnauthorizedError();
    // Cookies are sent by browsers on cross-site requests; a write authenticated by cookie must
    // also prove it came from a page that could read the CSRF token.
    if (request.credential === 'cookie' && UNSAFE.has(request.method)) {
      const presented = request.headers[CSRF_HEADER];
      if (
        typeof presented !== 'string' ||
        !p.sessionId ||
        !csrfMatches(p.sessionId, presented, opts.csrfKey)
      ) {
        throw csrfFailed();
      }
    }
    if (required !== 'authenticated' && !p.permissions.has(required)) throw missingPermission(required);
  });
}

export const authPlugin = fp(plugin, { name: 'polar-auth', dependencies: ['@fastify/cookie'] });
