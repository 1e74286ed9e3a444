import type { Principal } from './principal.js';

/**
 * Who may administer organisations, keys, users and read the audit log. Small pure functions of the principal
 * (organisation id and kind, resolved when its credential was verified) and of the record acted on; the route has
 * already checked the scope. No database read decides.
 */

/** The regulator, platform staff (console users with no organisation) and the system act for every organisation. */
export function isRegulator(p: Principal): boolean {
  if (p.orgKind !== null) return p.orgKind === 'regulator';
  return p.orgId === null && p.kind !== 'apikey';
}

/** The principal's own organisation, or the regulator for any. */
export function actsFor(p: Principal, orgId: string | null): boolean {
  return isRegulator(p) || (orgId !== null && p.orgId === orgId);
}

export const authPolicy = {
  /** Only the regulator creates organisations. */
  createOrg: isRegulator,
  /** Organisations listed: all for the regulator, its own for anyone else. */
  visibleOrgs: (p: Principal): 'all' | string | null => (isRegulator(p) ? 'all' : p.orgId),
  /** Keys of an organisation are created, listed and revoked by that organisation or the regulator. */
  manageKeys: (p: Principal, orgId: string): boolean => actsFor(p, orgId),
  /** Console users are created in the caller's own organisation; the regulator creates them anywhere (or as platform staff). */
  createUser: (p: Principal, orgId: string | null): boolean => actsFor(p, orgId),
  /** Audit entries: all for the regulator, those of its own organisation for anyone else. */
  auditScope: (p: Principal): 'all' | string | null => (isRegulator(p) ? 'all' : p.orgId),
};
