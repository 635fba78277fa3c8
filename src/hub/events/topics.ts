import { ForbiddenError, ValidationError } from '../../platform/errors.js';
import type { Permission } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';

/**
 * What a client may subscribe to on /ws, and the permission each topic needs. A domain that publishes
 * on a new topic adds it here; a topic missing from this map cannot be subscribed to, which is also
 * what keeps internal signals between nodes away from clients.
 */
export const TOPIC_PERMISSIONS = Object.freeze({
  audit: 'audit:read',
  settings: 'settings:read',
  users: 'users:read',
  models: 'models:read',
  datasets: 'datasets:read',
  training: 'training:read',
  jobs: 'training:read',
  gateway: 'gateway:read',
  health: 'admin:system',
} satisfies Record<string, Permission>);

export type Topic = keyof typeof TOPIC_PERMISSIONS;

/** A bound on one subscription request, far above the number of topics that exist. */
export const MAX_TOPICS = 32;

const isTopic = (t: string): t is Topic => Object.hasOwn(TOPIC_PERMISSIONS, t);

/** Splits `a,b` into distinct names (blank entries ignored). */
export function parseTopicList(raw: string | undefined): string[] {
  if (!raw) return [];
  return [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

export function mayRead(principal: Principal, topic: Topic): boolean {
  return principal.permissions.has(TOPIC_PERMISSIONS[topic]);
}

/**
 * The topics as subscribable by `principal`, or an error naming every topic that is unknown (400)
 * or not permitted (403). All or nothing: a partly refused request changes nothing.
 */
export function authorizeTopics(principal: Principal, names: readonly string[]): Topic[] {
  if (names.length > MAX_TOPICS) {
    throw new ValidationError(`At most ${MAX_TOPICS} topics per request`, undefined, 'too_many_topics');
  }
  const unknown = names.filter((n) => !isTopic(n));
  if (unknown.length > 0) {
    throw new ValidationError(
      `Unknown topic${unknown.length > 1 ? 's' : ''}: ${unknown.map((u) => u.slice(0, 64)).join(', ')} (known: ${Object.keys(TOPIC_PERMISSIONS).join(', ')})`,
      unknown.map((u) => ({ path: 'querystring.topics', message: `unknown topic '${u.slice(0, 64)}'` })),
      'unknown_topic',
    );
  }
  const topics = names as Topic[];
  const denied = topics.filter((t) => !mayRead(principal, t));
  if (denied.length > 0) {
    throw new ForbiddenError(
      `Not permitted: ${denied.map((t) => `'${t}' needs '${TOPIC_PERMISSIONS[t]}'`).join(', ')}`,
      'topic_forbidden',
    );
  }
  return topics;
}

/** Admins see every user's events; anyone else only events for everybody and their own. */
export function seesEvent(principal: Principal, userId: string | null): boolean {
  return userId === null || userId === principal.userId || principal.role === 'admin';
}
