/** Where a call entered the Kazakh network: over an international trunk or from a domestic one. */
export type Ingress = 'international' | 'domestic';

export type Verdict = 'allow' | 'flag' | 'block';

/** Why a call was flagged or blocked. Which reasons block and which only flag is policy per receiving operator. */
export const REASONS = [
  'SPOOFED_KZ_MOBILE_FROM_ABROAD',
  'KZ_GEOGRAPHIC_FROM_ABROAD',
  'INVALID_CLI',
  'DO_NOT_ORIGINATE',
  'BLOCKLISTED_NUMBER',
  'IDENTITY_INVALID',
  'IDENTITY_MISSING',
] as const;
export type Reason = (typeof REASONS)[number];

/** STIR/SHAKEN attestation level (ATIS-1000074): full, partial, gateway. */
export type Attestation = 'A' | 'B' | 'C';

/** One call to screen, from the HTTP API or the SIP redirect server. Numbers are as received (any format). */
export interface CallToScreen {
  callingNumber: string;
  calledNumber: string;
  ingress: Ingress;
  trunkId?: string;
  redirectingNumber?: string;
  /** Organisation id of the operator whose network the call comes from, when known. */
  originatingOperator?: string;
  /** The SIP Identity header value (RFC 8224), when the call carries one. */
  identity?: string;
  /** The number in the SIP To header, which a PASSporT's `dest` must match (RFC 8224); defaults to calledNumber. */
  toNumber?: string;
}

export interface ScreeningResult {
  verdict: Verdict;
  reasons: Reason[];
  /** Set when the call carried a valid PASSporT. */
  attestation?: Attestation;
  /** Why the Identity header failed verification (RFC 8224 code and reason phrase), with IDENTITY_INVALID. */
  identityError?: { code: IdentityFailureCode; reason: string };
}

/** RFC 8224 §6.2.2 response codes for identity failures, with their reason phrases. */
export type IdentityFailureCode = 403 | 428 | 436 | 437 | 438;

export type IdentityCheck =
  | { ok: true; attestation: Attestation; origid?: string; /** Organisation whose certificate signed. */ operatorId?: string | null }
  | { ok: false; code: IdentityFailureCode; reason: string };
