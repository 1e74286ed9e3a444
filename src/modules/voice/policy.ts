import { isRegulator } from '../../core/auth/policy.js';
import type { Principal, RequestContext } from '../../core/auth/principal.js';
import { DomainError } from '../../core/errors.js';
import { familyLength, prefixesOverlap, toPrefix } from './reference/trunk-addresses.js';
import { DEFAULT_POLICY_ID } from './screening/schema.js';

/**
 * Who may do what in voice: small pure functions of the principal (organisation id and kind, resolved when its
 * credential was verified) and of the record acted on; the route has already checked the scope. Ownership data
 * (a number's holder, a trunk's operator, a certificate's owner) is read by the service; no database read decides.
 *
 * National reference data is the regulator's: range holders, the ported-numbers register (the national MNP
 * source), the do-not-originate list, the default screening policy `*`. An operator acts on its own: its screening
 * policy, trunks, statistics, subscribers' roaming, STIR certificates and signing credential.
 */

/** An organisation of kind operator acting for itself (`orgId`). */
function ownOperator(p: Principal, orgId: string | null | undefined): boolean {
  return p.orgKind === 'operator' && p.orgId !== null && p.orgId === orgId;
}

/** Does one address or CIDR share an address with another (IPv4 and its IPv4-mapped IPv6 form are one)? */
function overlaps(a: string, b: string): boolean {
  const [pa, pb] = [toPrefix(a), toPrefix(b)];
  return pa !== undefined && pb !== undefined && prefixesOverlap(pa, pb);
}

/** The widest source range an operator may claim for a trunk, per address family (prefix length). */
export const OPERATOR_TRUNK_PREFIX = { 4: 24, 6: 48 } as const;

export const voicePolicy = {
  /** Operators and the regulator work in voice; no other kind does (their ceilings hold no voice scope either). */
  actsInVoice: (p: Principal): boolean => isRegulator(p) || (p.orgKind === 'operator' && p.orgId !== null),

  /** The receiving operator whose policy screens the caller's calls, and under whom they are counted: the caller's own organisation. */
  screensFor: (p: Principal): string | null => p.orgId,

  /** A screening policy (`*` = the default) is the regulator's to read and set; an operator reads and sets only its own. */
  screeningPolicy: (p: Principal, operatorId: string): boolean => isRegulator(p) || (operatorId !== DEFAULT_POLICY_ID && ownOperator(p, operatorId)),

  /** Range holders, the do-not-originate list: national reference data, changed by the regulator only. */
  changeNationalData: isRegulator,

  /**
   * A number's roaming is reported by its home operator (the operator it is ported to, else its range holder); the
   * regulator reports for any number that has one.
   */
  reportRoaming: (p: Principal, homeOperator: string | undefined): boolean => homeOperator !== undefined && (isRegulator(p) || ownOperator(p, homeOperator)),

  /**
   * A port in the ported-numbers register: the regulator records any; an operator only of a number it holds now
   * (the donor: the operator the number is ported to, else its range holder), never claiming another's number.
   */
  recordPort: (p: Principal, holder: string | undefined): boolean => isRegulator(p) || (holder !== undefined && ownOperator(p, holder)),

  /** Trunks listed: all for the regulator, an operator's own otherwise. */
  visibleTrunks: (p: Principal): 'all' | string | null => (isRegulator(p) ? 'all' : p.orgId),

  /** The operator of a trunk written without one: none for the regulator (the default policy screens it), the caller itself for an operator. */
  trunkOperatorByDefault: (p: Principal): string | null => (isRegulator(p) ? null : p.orgId),

  /** A trunk (existing, or as it would be written) is changed by its operator or the regulator; one without an operator by the regulator only. */
  manageTrunk: (p: Principal, trunkOperator: string | null): boolean => isRegulator(p) || ownOperator(p, trunkOperator),

  /**
   * The source addresses an operator may claim for a trunk: none that another organisation's trunk (or one without
   * an operator) already holds, or its calls would be screened and counted as the claimant's. The regulator may
   * configure any. Returns the other trunks' ids the addresses collide with.
   */
  addressConflicts(
    p: Principal,
    addresses: readonly string[],
    trunks: readonly { id: string; operatorId: string | null; addresses: readonly string[] }[],
  ): string[] {
    if (isRegulator(p)) return [];
    return trunks.filter((t) => t.operatorId !== p.orgId && t.addresses.some((held) => addresses.some((wanted) => overlaps(held, wanted)))).map((t) => t.id);
  },

  /**
   * The source ranges an operator may not claim for a trunk: any wider than /24 (IPv4) or /48 (IPv6) — else one
   * `0.0.0.0/0` or `::/0` takes every source no trunk names yet, its calls screened and counted as the claimant's.
   * An IPv6 prefix holding IPv4-mapped addresses counts by the IPv4 addresses it holds (`::/48` holds them all).
   * The regulator may configure any.
   */
  trunkRangesTooWide(p: Principal, addresses: readonly string[]): string[] {
    if (isRegulator(p)) return [];
    return addresses.filter((entry) => {
      const prefix = toPrefix(entry);
      if (!prefix) return false;
      const { family, bits } = familyLength(prefix);
      return bits < OPERATOR_TRUNK_PREFIX[family];
    });
  },

  /** Call statistics: every operator's for the regulator, its own for an operator; null for anyone else. */
  statsScope: (p: Principal): 'all' | string | null => (isRegulator(p) ? 'all' : p.orgKind === 'operator' ? p.orgId : null),

  /** STIR/SHAKEN trust anchors (the STI-PA roots) are uploaded and revoked by the regulator only. */
  manageTrustAnchors: isRegulator,

  /**
   * A signing certificate belongs to the operator its TNAuthList's service provider code is assigned to: that
   * operator uploads it, or the regulator does for it; no one else, whoever holds the certificate.
   */
  uploadCertificateFor: (p: Principal, spcOperator: string): boolean => isRegulator(p) || ownOperator(p, spcOperator),

  /** A certificate is revoked by its owner or the regulator; a trust anchor by the regulator only. */
  revokeCertificate: (p: Principal, cert: { operatorId: string | null; trustAnchor: boolean }): boolean =>
    isRegulator(p) || (!cert.trustAnchor && cert.operatorId !== null && cert.operatorId === p.orgId),

  /** A signing credential is set only with one of the caller's own organisation's certificates. */
  useCertificate: (p: Principal, cert: { operatorId: string | null }): boolean => p.orgId !== null && cert.operatorId === p.orgId,

  /** Whose credential signs the caller's calls: its own organisation's (null: no organisation, nothing to sign with). */
  signsAs: (p: Principal): string | null => p.orgId,
};

/** National reference data (range holders, the do-not-originate list, SPCs, repositories) is the regulator's: a 403. */
export function requireNationalData(p: Principal, what: string): void {
  if (!voicePolicy.changeNationalData(p)) throw new DomainError('forbidden', `only the regulator may ${what}`);
}

/** Operators and the regulator work in voice; anyone else is refused (a 403). */
export function requireVoiceActor(ctx: RequestContext): void {
  if (!voicePolicy.actsInVoice(ctx.principal)) throw new DomainError('forbidden', 'only operators (and the regulator) may do this');
}
