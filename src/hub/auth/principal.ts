import type { Permission, Role } from './permissions.js';

/** Who is calling, as established by the auth hook. Services receive it inside a RequestContext. */
export interface Principal {
  userId: string;
  username: string;
  role: Role;
  /** Effective permissions: the role's, narrowed to the key's scopes when a key is used. */
  permissions: ReadonlySet<Permission>;
  via: 'session' | 'key';
  sessionId?: string;
  keyId?: string;
  /** When the credential stops working by itself (absent: never). */
  expiresAt?: Date;
}

/** What a service needs to know about the request it serves: the caller and where to attribute audit. */
export interface RequestContext {
  principal: Principal | null;
  requestId: string;
  ip: string;
}

export const SYSTEM_CONTEXT: RequestContext = { principal: null, requestId: 'system', ip: '' };

export function can(principal: Principal | null, permission: Permission): boolean {
  return principal?.permissions.has(permission) ?? false;
}
