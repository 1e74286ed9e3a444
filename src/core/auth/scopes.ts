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

/**
 * The ceiling of each organisation kind: the scopes its keys and users may ever hold. `*` on a credential means
 * "everything my kind may hold", never more. Platform staff (no organisation) and the regulator hold every scope.
 */
export const KIND_SCOPES: Record<OrgKind, readonly Scope[]> = {
  regulator: SCOPES,
  operator: [
    'admin:orgs',
    'admin:users',
    'audit:read',
    'metrics:read',
    'devices:read',
    'devices:write',
    'devices:check',
    'voice:screen',
    'voice:admin',
    'voice:write',
    'voice:sign',
    'traffic:write',
    'traffic:read',
    'intel:report',
    'intel:check',
  ],
  bank: ['admin:orgs', 'admin:users', 'audit:read', 'devices:check', 'intel:report', 'intel:check', 'money:write', 'money:read'],
  marketplace: ['admin:orgs', 'admin:users', 'audit:read', 'devices:check', 'intel:report', 'intel:check'],
  isp: ['admin:orgs', 'admin:users', 'audit:read', 'intel:report', 'intel:check'],
  police: [
    'admin:orgs',
    'admin:users',
    'audit:read',
    'devices:read',
    'devices:check',
    'devices:block',
    'traffic:read',
    'intel:report',
    'intel:check',
    'money:read',
    'monitor:read',
  ],
};

export function isKnownScope(scope: string): boolean {
  return scope === ALL_SCOPES || (SCOPES as readonly string[]).includes(scope);
}

/** What an organisation of this kind (null: platform staff) may hold. */
export function ceilingOf(kind: OrgKind | null): readonly string[] {
  return kind === null ? SCOPES : KIND_SCOPES[kind];
}

/** The scopes a credential given `granted` really holds in an organisation of this kind: `*` expanded, the rest capped. */
export function effectiveScopes(granted: readonly string[], kind: OrgKind | null): readonly string[] {
  const ceiling = ceilingOf(kind);
  if (granted.includes(ALL_SCOPES)) return kind === null ? [ALL_SCOPES] : ceiling;
  return granted.filter((scope) => ceiling.includes(scope));
}

/** The requested scopes an organisation of this kind may not hold (`*` is always allowed: it means "my kind's"). */
export function beyondCeiling(requested: readonly string[], kind: OrgKind | null): string[] {
  const ceiling = ceilingOf(kind);
  return requested.filter((scope) => scope !== ALL_SCOPES && !ceiling.includes(scope));
}

export function hasScope(granted: readonly string[], required: string): boolean {
  return granted.includes(ALL_SCOPES) || granted.includes(required);
}

/** A credential may hand out only scopes it holds itself; `*` only if it holds every scope of the target's kind. */
export function canGrant(granted: readonly string[], requested: readonly string[], targetKind: OrgKind | null = null): boolean {
  if (granted.includes(ALL_SCOPES)) return true;
  const wanted = requested.flatMap((scope) => (scope === ALL_SCOPES ? [...ceilingOf(targetKind)] : [scope]));
  return wanted.every((scope) => granted.includes(scope));
}
