import { Type } from '@sinclair/typebox';

/** Where a call entered the Kazakh network: over an international trunk or from a domestic one. */
export type Ingress = 'international' | 'domestic';

export type Verdict = 'allow' | 'flag' | 'block';

/** The operator id of the default screening policy, which every operator without its own gets. */
export const DEFAULT_POLICY_ID = '*';

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

const Number_ = (description: string) => Type.String({ maxLength: 64, description });
const ReasonCode = Type.Union(REASONS.map((r) => Type.Literal(r)));
export const IngressType = Type.Union([Type.Literal('international'), Type.Literal('domestic')]);

/** Calls in one screen-batch request. */
export const MAX_BATCH = 1_000;

export const ScreenRequest = Type.Object(
  {
    callingNumber: Number_('CLI as received (any format); a malformed one is a verdict, not an error'),
    calledNumber: Number_('the dialled number'),
    ingress: IngressType,
    trunkId: Type.Optional(Type.String({ maxLength: 100 })),
    redirectingNumber: Type.Optional(Number_('Diversion / History-Info number, when the call was forwarded')),
    originatingOperator: Type.Optional(Type.String({ maxLength: 100 })),
    identity: Type.Optional(Type.String({ maxLength: 8192, description: 'SIP Identity header value (RFC 8224), verified with STIR/SHAKEN' })),
    toNumber: Type.Optional(Number_('the SIP To number, which the PASSporT dest must match (default: calledNumber)')),
  },
  { additionalProperties: false },
);

export const ScreenResult = Type.Object({
  verdict: Type.Union([Type.Literal('allow'), Type.Literal('flag'), Type.Literal('block')]),
  reasons: Type.Array(ReasonCode, { description: 'those that block first, then those that flag, then those only reported' }),
  attestation: Type.Optional(Type.Union([Type.Literal('A'), Type.Literal('B'), Type.Literal('C')])),
  identityError: Type.Optional(
    Type.Object({ code: Type.Integer({ description: 'RFC 8224 response code: 403, 428, 436, 437 or 438' }), reason: Type.String() }),
  ),
});

export const ScreenBatchRequest = Type.Object({ calls: Type.Array(ScreenRequest, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false });

const PolicyReasons = (verdict: string) =>
  Type.Array(Type.String({ maxLength: 64 }), { maxItems: REASONS.length, description: `the reasons that ${verdict} a call, each once: ${REASONS.join(', ')}` });

export const PolicyBody = Type.Object(
  { block: PolicyReasons('block'), flag: PolicyReasons('flag'), enabled: Type.Boolean({ description: 'false = kill switch: allow every call' }) },
  { additionalProperties: false },
);

export const PolicyResponse = Type.Object({
  operatorId: Type.String(),
  block: Type.Array(ReasonCode),
  flag: Type.Array(ReasonCode),
  enabled: Type.Boolean(),
  isDefault: Type.Boolean({ description: 'the operator has no policy of its own and gets the default' }),
});

const Counts = Type.Record(Type.String(), Type.Integer());

export const StatsResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  operator: Type.String({ description: 'the calling operator’s id, or `all` for the regulator' }),
  days: Type.Array(
    Type.Object({
      day: Type.String(),
      calls: Type.Object({ allow: Type.Integer(), flag: Type.Integer(), block: Type.Integer() }),
      blockedByReason: Counts,
      flaggedByReason: Counts,
    }),
  ),
});

export interface DayStats {
  day: string;
  calls: { allow: number; flag: number; block: number };
  blockedByReason: Record<string, number>;
  flaggedByReason: Record<string, number>;
}
