import type { Principal } from '../../core/auth/principal.js';
import { actsFor, isRegulator } from '../../core/auth/policy.js';
import { DomainError } from '../../core/errors.js';
import type { OrgKind } from '../../core/db/types.js';
import type { RegistrationSource } from './tables.js';

/**
 * Who may do what in the devices module: small pure functions of the principal (organisation id and kind, resolved
 * with its credential) and of the record acted on. The route has already checked the scope, and each kind's ceiling
 * keeps scopes where they belong (operators never hold `devices:block`, police never `devices:write`). Ownership
 * data may be read from a repository first; the decision is made here, never by a database read.
 */

/** Sources an operator registers under, at its shops and service centres; `importer` and `grandfathered` are the regulator's. */
const OPERATOR_SOURCES: readonly RegistrationSource[] = ['individual', 'service_centre'];

export type BlockSource = 'police' | 'regulator';

/** Whether a caller may pair an IMSI: allowed, refused, or refused because no operator holds the IMSI's network yet. */
export type PairingDecision = 'allowed' | 'forbidden' | 'unknown_network';

/** Whose rows a listing shows: every organisation's, one organisation's, or none. */
export type Visibility = { all: true } | { all: false; orgId: string } | null;

const own = (p: Principal): Visibility => (p.orgId === null ? null : { all: false, orgId: p.orgId });

export const devicesPolicy = {
  /**
   * National reference data is the regulator's: the TAC database, the classification conditions (and running a
   * classification), blocking orders, and the lost and stolen lists of the GSMA and partner countries.
   */
  nationalData: isRegulator,

  /** Registration by the JSON API: an operator for its subscribers (individual, service centre); the regulator any source. */
  register: (p: Principal, source: RegistrationSource): boolean => isRegulator(p) || (p.orgKind === 'operator' && OPERATOR_SOURCES.includes(source)),

  /** Bulk registration files come from importers and customs, which are not organisations here: the regulator uploads them. */
  importRegistrations: isRegulator,

  /** The source a stolen-phone block is recorded with, from the caller's kind; null when the caller may not block. */
  blockSource: (p: Principal): BlockSource | null => (p.orgKind === 'police' ? 'police' : isRegulator(p) ? 'regulator' : null),

  /** A block's case number is seen by the organisation that made it and the regulator; another only learns it is blocked. */
  seesBlock: (p: Principal, block: { orgId: string | null }): boolean => actsFor(p, block.orgId),

  /** A block is lifted only by the organisation that made it, or by the regulator (imported lists have no organisation). */
  unblock: (p: Principal, block: { orgId: string | null }): boolean => actsFor(p, block.orgId),

  /** Observations and lists are per operator: an operator handles its own, the regulator names any operator. */
  actsForOperator: (p: Principal, operator: { id: string; kind: OrgKind }): boolean => operator.kind === 'operator' && actsFor(p, operator.id),

  /** The regulator names the operator whose observations and lists it handles. */
  anyOperator: isRegulator,

  /** The operator a call acts for when it names none: the caller's own, if the caller is an operator. */
  defaultOperator: (p: Principal): string | null => (p.orgKind === 'operator' ? p.orgId : null),

  /** Trace alerts: the police organisation whose block raised them; the regulator sees all. */
  traceAlerts: (p: Principal): Visibility => (isRegulator(p) ? { all: true } : p.orgKind === 'police' ? own(p) : null),

  /**
   * Pairings exempt a subscriber's device from registration: an operator pairs IMSIs of its own networks (recorded as
   * its pairing), the regulator any IMSI. `imsiHolderOrgId` is the organisation holding the IMSI's network (MCC + MNC),
   * null when none does: an operator is then refused until the regulator assigns the network.
   */
  addPairing: (p: Principal, imsiHolderOrgId: string | null): PairingDecision => {
    if (isRegulator(p)) return 'allowed';
    if (p.orgKind !== 'operator') return 'forbidden';
    if (imsiHolderOrgId === null) return 'unknown_network';
    return imsiHolderOrgId === p.orgId ? 'allowed' : 'forbidden';
  },

  /** A pairing is removed by the organisation that made it, or by the regulator. */
  removePairing: (p: Principal, pairing: { orgId: string | null }): boolean => actsFor(p, pairing.orgId),

  /** Statistics: national totals for every reader; observations per operator: all for the regulator, an operator its own. */
  observationStats: (p: Principal): Visibility => (isRegulator(p) ? { all: true } : own(p)),
};

/** Refuses (403), saying who may, unless a decision above allowed the act. */
export function requireAllowed(allowed: boolean, who: string): void {
  if (!allowed) throw new DomainError('forbidden', who);
}

/** Whether a visibility admits a row of this organisation. */
export function sees(v: Visibility, orgId: string | null): boolean {
  return v !== null && (v.all || v.orgId === orgId);
}
