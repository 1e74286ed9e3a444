import { Type } from '@sinclair/typebox';
import { REASONS } from './types.js';

const Number_ = (description: string) => Type.String({ maxLength: 64, description });
const ReasonCode = Type.Union(REASONS.map((r) => Type.Literal(r)));
const IngressType = Type.Union([Type.Literal('international'), Type.Literal('domestic')]);

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
  identityError: Type.Optional(Type.Object({ code: Type.Integer({ description: 'RFC 8224 response code: 403, 428, 436, 437 or 438' }), reason: Type.String() })),
});

export const ScreenBatchRequest = Type.Object({ calls: Type.Array(ScreenRequest, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false });

const RoamingEntry = Type.Object(
  {
    msisdn: Type.String({ maxLength: 64 }),
    roaming: Type.Boolean(),
    country: Type.Optional(Type.String({ maxLength: 8, description: 'ISO 3166-1 alpha-2 country the subscriber is in' })),
  },
  { additionalProperties: false },
);

export const RoamingRequest = Type.Union([
  Type.Array(RoamingEntry, { maxItems: 10_000 }),
  Type.Object({ entries: Type.Array(RoamingEntry, { maxItems: 10_000 }) }, { additionalProperties: false }),
]);

export const RoamingResponse = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  ttlSeconds: Type.Integer(),
  results: Type.Array(Type.Object({ index: Type.Integer(), msisdn: Type.String({ description: 'masked' }), status: Type.Union([Type.Literal('accepted'), Type.Literal('rejected')]), reason: Type.Optional(Type.String()) })),
});

export const DnoRequest = Type.Object(
  { numbers: Type.Array(Type.Object({ number: Type.String({ maxLength: 64 }), label: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }), { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);

export const DnoEntry = Type.Object({ msisdn: Type.String(), label: Type.String(), addedAt: Type.String() });

export const RangeHolder = Type.Object({ prefix: Type.String({ description: 'national-number prefix, e.g. 701' }), operatorId: Type.String() });

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

const Address = Type.String({ maxLength: 64, pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$', description: 'IP address or CIDR' });

export const TrunkBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), operator: Type.Optional(Type.String({ maxLength: 200 })), addresses: Type.Array(Address, { minItems: 1, maxItems: 256 }), ingress: IngressType },
  { additionalProperties: false },
);

export const Trunk = Type.Object({ id: Type.String(), name: Type.String(), operatorId: Type.Union([Type.String(), Type.Null()]), addresses: Type.Array(Type.String()), ingress: IngressType });

const Counts = Type.Record(Type.String(), Type.Integer());

export const StatsResponse = Type.Object({
  from: Type.String(),
  to: Type.String(),
  operator: Type.String({ description: 'the calling operator’s id, or `all` for the regulator' }),
  days: Type.Array(Type.Object({ day: Type.String(), calls: Type.Object({ allow: Type.Integer(), flag: Type.Integer(), block: Type.Integer() }), blockedByReason: Counts, flaggedByReason: Counts })),
});
