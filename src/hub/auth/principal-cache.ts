import { type EventBus, INTERNAL_TOPIC, type PolarEvent } from '../../platform/events/bus.js';
import type { Principal } from './principal.js';
import type { AuthService } from './service.js';
import { hashSecret, parseToken, secretMatches } from './tokens.js';

/**
 * Authenticating a token reads two rows (the token, then its user): on the embedded database that
 * was two thirds of the database work of a simple authenticated read. This keeps the principals of
 * recently seen tokens for a few seconds and forgets a user's entries the moment this node hears
 * that something about them changed: 'principal.revoked' (disable, demotion, password change or
 * reset, logout, key revocation, deletion) and the users topic (any update, e.g. a promotion).
 *
 * Every node must hear those events, so buildApp enables the cache only where they reach every node
 * (the single embedded node, or Redis fan-out). The TTL bounds what a lost event could leave behind;
 * a lookup that raced with an invalidation is not stored; expiry is checked on every hit.
 */
export const PRINCIPAL_TTL_MS = 10_000;
export const PRINCIPAL_CACHE_MAX = 10_000;

interface Entry {
  userId: string;
  /** sha256 of the token's secret: a hit still compares the presented secret in constant time. */
  secretHash: string;
  principal: Principal;
  validUntil: number;
}

export interface PrincipalCacheOptions {
  bus: Pick<EventBus, 'subscribe'>;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => Date;
}

export type CachedAuthService = AuthService & {
  /** Stops listening to the bus; from then on every call goes to the database. */
  stopCaching(): void;
};

function userOf(event: PolarEvent): string | undefined {
  const d = event.data;
  if (event.topic === INTERNAL_TOPIC && event.type === 'principal.revoked') {
    return typeof d.user_id === 'string' ? d.user_id : undefined;
  }
  if (event.topic === 'users') return typeof d.id === 'string' ? d.id : undefined;
  return undefined;
}

export function cachePrincipals(auth: AuthService, opts: PrincipalCacheOptions): CachedAuthService {
  const ttl = opts.ttlMs ?? PRINCIPAL_TTL_MS;
  const max = opts.maxEntries ?? PRINCIPAL_CACHE_MAX;
  const now = opts.now ?? (() => new Date());
  const entries = new Map<string, Entry>();
  // Bumped on every invalidation; a lookup that started before a bump may hold revoked data.
  let generation = 0;
  let stopped = false;

  const forgetUser = (userId: string) => {
    generation++;
    for (const [k, e] of entries) if (e.userId === userId) entries.delete(k);
  };
  const unsubscribe = opts.bus.subscribe((event) => {
    const userId = userOf(event);
    if (userId) forgetUser(userId);
  });

  return {
    ...auth,
    async authenticate(token: string): Promise<Principal> {
      const parsed = parseToken(token);
      if (!parsed || stopped) return auth.authenticate(token);
      const id = `${parsed.prefix}_${parsed.id}`;
      const t = now().getTime();
      const hit = entries.get(id);
      if (hit) {
        const fresh =
          hit.validUntil > t && (!hit.principal.expiresAt || hit.principal.expiresAt.getTime() > t);
        if (fresh && secretMatches(parsed.secret, hit.secretHash)) return { ...hit.principal };
        // A wrong secret for a cached id is left to the database path, which refuses it.
        if (!fresh) entries.delete(id);
      }
      const seen = generation;
      const principal = await auth.authenticate(token);
      if (seen === generation) {
        entries.delete(id);
        if (entries.size >= max) {
          const oldest = entries.keys().next();
          if (!oldest.done) entries.delete(oldest.value);
        }
        entries.set(id, {
          userId: principal.userId,
          secretHash: hashSecret(parsed.secret),
          principal,
          validUntil: t + ttl,
        });
      }
      return { ...principal };
    },
    stopCaching() {
      stopped = true;
      unsubscribe();
      entries.clear();
      generation++;
    },
  };
}
