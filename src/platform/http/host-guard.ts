import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, ForbiddenError } from '../errors.js';

/**
 * Defends against DNS rebinding and cross-site calls: the Host header must name this node, and a
 * request that carries an Origin must come from this node (or an origin the operator listed).
 * Also applied to the WebSocket upgrade, which is an ordinary GET at this point.
 */
export interface HostGuardOptions {
  boundHost: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

const PROBE_PATHS = new Set(['/health', '/health/ready', '/api/v1/health']);
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]']);

export function hostnameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(0, end + 1) : h;
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

export function allowedHostSet(opts: HostGuardOptions): Set<string> | 'any' {
  if (opts.allowedHosts.includes('*')) return 'any';
  const set = new Set(['localhost', '127.0.0.1', '[::1]', ...opts.allowedHosts.map((h) => hostnameOf(h))]);
  if (!WILDCARD_BINDS.has(opts.boundHost))
    set.add(
      hostnameOf(
        opts.boundHost.includes(':') && !opts.boundHost.startsWith('[')
          ? `[${opts.boundHost}]`
          : opts.boundHost,
      ),
    );
  return set;
}

export function registerHostGuard(app: FastifyInstance, opts: HostGuardOptions) {
  const hosts = allowedHostSet(opts);
  const origins = new Set(opts.allowedOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()));

  app.addHook('onRequest', async (request: FastifyRequest) => {
    // Liveness/readiness probes (load balancers, Kubernetes) address a node by its IP; they reveal
    // nothing a rebinding attack could use, so they are answered whatever the Host.
    if (request.method === 'GET' && PROBE_PATHS.has(request.url)) return;
    const host = request.headers.host;
    if (hosts !== 'any' && (!host || !hosts.has(hostnameOf(host)))) {
      throw new AppError(
        421,
        'host_not_allowed',
        'This host name is not served here (see POLAR_ALLOWED_HOSTS)',
      );
    }
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const o = origin.toLowerCase();
    if (origins.has(o)) return;
    let originHost: string;
    try {
      originHost = new URL(o).host;
    } catch {
      throw new ForbiddenError('The Origin header is not valid', 'origin_not_allowed');
    }
    // Same origin: the page was served by this node under the same host and port.
    if (host && originHost === host.toLowerCase()) return;
    throw new ForbiddenError(
      `Requests from origin ${origin} are not allowed (see POLAR_ALLOWED_ORIGINS)`,
      'origin_not_allowed',
    );
  });
}
