import type { OrgKind } from '../db/types.js';

/** Every scope a credential can carry. `*` grants all of them. */
export const SCOPES = [
  'admin:orgs',
  'admin:users',
  'audit:read',
  'metrics:read',
  'devices:read',
  'devices:write',
  'devices:check',
  'devices:block',
  'voice:screen',
  'voice:admin',
  'voice:write',
  'voice:sign',
  'traffic:write',
  'traffic:read',
  'intel:report',
  'intel:check',
  'intel:moderate',
  'money:write',
  'money:read',
  'monitor:read',
  'monitor:write',
  'privacy:read',
  'privacy:write',
] as const;

export type Scope = (typeof SCOPES)[number];
export const ALL_SCOPES = '*';

export const ORG_KINDS: readonly OrgKind[] = ['regulator', 'operator', 'bank', 'marketplace', 'isp', 'police'];

/** Console roles and the scopes they grant. */
export const ROLES: Record<string, readonly string[]> = {
  admin: [ALL_SCOPES],
  analyst: ['devices:read', 'traffic:read', 'intel:check', 'intel:moderate', 'money:read', 'monitor:read', 'monitor:write', 'privacy:read'],
  auditor: ['audit:read', 'privacy:read', 'monitor:read'],
  viewer: ['devices:read', 'monitor:read'],
};

export function isKnownScope(scope: string): boolean {
  return scope === ALL_SCOPES || (SCOPES as readonly string[]).includes(scope);
}

export function hasScope(granted: readonly string[], required: string): boolean {
  return granted.includes(ALL_SCOPES) || granted.includes(required);
}

/** A credential may hand out only scopes it holds itself; `*` only if it holds `*`. */
export function canGrant(granted: readonly string[], requested: readonly string[]): boolean {
  if (granted.includes(ALL_SCOPES)) return true;
  return requested.every((scope) => scope !== ALL_SCOPES && granted.includes(scope));
}
