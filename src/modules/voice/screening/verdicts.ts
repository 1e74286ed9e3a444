import { parseMsisdn } from '../../../identifiers/msisdn.js';
import type { CallToScreen, IdentityCheck, Reason, ScreeningResult, Verdict } from './schema.js';

/** What screening needs to know about numbers, answered from memory. Numbers are E.164 (`+7…`). */
export interface NumberFacts {
  isRoaming(e164: string): boolean;
  isDoNotOriginate(numberOrShortCode: string): boolean;
  isBlocklisted(e164: string): boolean;
  /** The organisation serving this Kazakh number (ported-to operator or range holder), or null when unknown. */
  homeOperator(e164: string): string | null;
}

export interface Policy {
  block: ReadonlySet<Reason>;
  flag: ReadonlySet<Reason>;
  /** false: the kill switch is on, every call is allowed (reasons are still reported). */
  enabled: boolean;
}

/** The reasons that apply to a call, in a fixed order, from the CLI and the identity check (when one was made). */
export function reasonsFor(call: CallToScreen, facts: NumberFacts, identity: IdentityCheck | null): Reason[] {
  const reasons: Reason[] = [];
  const cli = parseMsisdn(call.callingNumber);
  const international = call.ingress === 'international';
  if (!cli.ok) {
    reasons.push('INVALID_CLI');
    const digits = call.callingNumber.replace(/[^0-9]/g, '');
    if (digits !== '' && facts.isDoNotOriginate(digits)) reasons.push('DO_NOT_ORIGINATE');
    return reasons;
  }
  // Russian ranges under +7 are foreign numbers: a Russian CLI on an international trunk is normal.
  const kazakh = cli.country !== 'RU' && cli.country !== 'other';
  if (kazakh && cli.type === 'unallocated') reasons.push('INVALID_CLI');
  // A valid full attestation by the number's own operator vouches for the caller: its subscriber is calling from
  // abroad. Another operator's signature, or one for a number with no known operator, vouches for nothing.
  const signer = identity?.ok === true && identity.attestation === 'A' ? identity.operatorId : null;
  const vouched = kazakh && signer != null && signer === facts.homeOperator(cli.e164);
  if (international && kazakh && cli.type === 'mobile' && !vouched && !facts.isRoaming(cli.e164)) reasons.push('SPOOFED_KZ_MOBILE_FROM_ABROAD');
  if (international && kazakh && cli.type === 'geographic') reasons.push('KZ_GEOGRAPHIC_FROM_ABROAD');
  if (facts.isDoNotOriginate(cli.e164)) reasons.push('DO_NOT_ORIGINATE');
  if (facts.isBlocklisted(cli.e164)) reasons.push('BLOCKLISTED_NUMBER');
  if (identity && !identity.ok) reasons.push('IDENTITY_INVALID');
  else if (!identity && kazakh && cli.type !== 'unallocated') reasons.push('IDENTITY_MISSING');
  return reasons;
}

export function verdictFor(reasons: readonly Reason[], policy: Policy): Verdict {
  if (!policy.enabled) return 'allow';
  if (reasons.some((r) => policy.block.has(r))) return 'block';
  if (reasons.some((r) => policy.flag.has(r))) return 'flag';
  return 'allow';
}

/** Reasons that block come first, then those that flag, then those only reported: a switch can show reasons[0]. */
function byWeight(reasons: Reason[], policy: Policy): Reason[] {
  const weight = (r: Reason) => (policy.block.has(r) ? 0 : policy.flag.has(r) ? 1 : 2);
  let ordered = true;
  for (let i = 1; i < reasons.length && ordered; i++) ordered = weight(reasons[i - 1]!) <= weight(reasons[i]!);
  if (ordered) return reasons;
  return [0, 1, 2].flatMap((w) => reasons.filter((r) => weight(r) === w));
}

export function screenCall(call: CallToScreen, facts: NumberFacts, policy: Policy, identity: IdentityCheck | null): ScreeningResult {
  const reasons = byWeight(reasonsFor(call, facts, identity), policy);
  const result: ScreeningResult = { verdict: verdictFor(reasons, policy), reasons };
  if (identity?.ok) result.attestation = identity.attestation;
  else if (identity) result.identityError = { code: identity.code, reason: identity.reason };
  return result;
}

/**
 * The policy every operator gets until the regulator sets its own: spoofed mobile and landline CLIs from abroad,
 * invalid, do-not-originate, blocklisted CLIs and forged identities block (fraudsters abroad using IP telephony must
 * not reach citizens showing a city number, as Ofcom blocks calls from abroad with a UK landline CLI; an operator
 * that forwards genuine calls can switch KZ_GEOGRAPHIC_FROM_ABROAD to flag); a missing identity is only reported
 * until operators sign calls.
 */
export const DEFAULT_POLICY = {
  block: [
    'SPOOFED_KZ_MOBILE_FROM_ABROAD',
    'KZ_GEOGRAPHIC_FROM_ABROAD',
    'INVALID_CLI',
    'DO_NOT_ORIGINATE',
    'BLOCKLISTED_NUMBER',
    'IDENTITY_INVALID',
  ] as Reason[],
  flag: [] as Reason[],
  enabled: true,
};
