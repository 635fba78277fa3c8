/**
 * Permissions are the unit of authorization: routes require one, roles grant a set, and API keys
 * carry a subset of their owner's. Later domains add theirs here so one list documents them all.
 */
export const PERMISSIONS = [
  'profile', // read oneself, change own password
  'keys:read', // own API keys
  'keys:write',
  'events:read', // subscribe to /ws (topics are further filtered)
  'users:read',
  'users:write',
  'audit:read',
  'settings:read',
  'settings:write',
  'admin:system', // system status, cleanup, purge logs, detailed health
  'metrics:read',
  'models:read',
  'models:write',
  'datasets:read',
  'datasets:write',
  'training:read',
  'training:write',
  'inference', // chat, completions, embeddings, predict
  'gateway:read',
  'gateway:write',
] as const;

export type Permission = (typeof PERMISSIONS)[number];
export const ROLES = ['admin', 'developer', 'user'] as const;
export type Role = (typeof ROLES)[number];

const USER: Permission[] = ['profile', 'keys:read', 'keys:write', 'events:read', 'models:read', 'inference'];
const DEVELOPER: Permission[] = [
  ...USER,
  'models:write',
  'datasets:read',
  'datasets:write',
  'training:read',
  'training:write',
  'gateway:read',
];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = Object.freeze({
  admin: [...PERMISSIONS],
  developer: DEVELOPER,
  user: USER,
});

export function permissionsOf(role: Role): ReadonlySet<Permission> {
  return new Set(ROLE_PERMISSIONS[role]);
}

export function isPermission(p: string): p is Permission {
  return (PERMISSIONS as readonly string[]).includes(p);
}

/** True when every permission of `role` stays available under `newRole`. */
export function roleIncludes(newRole: Role, role: Role): boolean {
  const granted = permissionsOf(newRole);
  return ROLE_PERMISSIONS[role].every((p) => granted.has(p));
}
