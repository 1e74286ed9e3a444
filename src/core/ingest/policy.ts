import { isRegulator } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';

/**
 * Who may follow which import. An import concerns two organisations: the one whose data it is and the one that ran
 * it; both see it, and the regulator sees every import. Another's import is not the caller's to know of (404).
 */
export const importsPolicy = {
  /** The imports a caller lists: every one for the regulator, else those of its own organisation (none without one). */
  visible: (p: Principal): 'all' | string | null => (isRegulator(p) ? 'all' : p.orgId),
  read: (p: Principal, run: { orgId: string | null; actorOrgId: string | null }): boolean =>
    isRegulator(p) || (p.orgId !== null && (run.orgId === p.orgId || run.actorOrgId === p.orgId)),
};
