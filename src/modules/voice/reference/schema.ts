import { Type } from '@sinclair/typebox';
import { IngressType, type Ingress } from '../screening/schema.js';

/** Entries in one roaming report. */
export const MAX_ROAMING_BATCH = 10_000;

export interface RoamingEntry {
  msisdn: string;
  roaming: boolean;
  country?: string;
}

export interface RowOutcome {
  index: number;
  msisdn: string;
  status: 'accepted' | 'rejected';
  reason?: string;
}

export interface RoamingRow {
  msisdn: string;
  operatorId: string;
  country: string | null;
  expiresAt: Date;
}

export interface PortedRow {
  msisdn: string;
  operatorId: string;
  portedAt: Date;
}

export interface TrunkRecord {
  id: string;
  name: string;
  operatorId: string | null;
  addresses: string[];
  ingress: Ingress;
}

const RoamingEntrySchema = Type.Object(
  {
    msisdn: Type.String({ maxLength: 64 }),
    roaming: Type.Boolean(),
    country: Type.Optional(Type.String({ maxLength: 8, description: 'ISO 3166-1 alpha-2 country the subscriber is in' })),
  },
  { additionalProperties: false },
);

export const RoamingRequest = Type.Union([
  Type.Array(RoamingEntrySchema, { maxItems: MAX_ROAMING_BATCH }),
  Type.Object({ entries: Type.Array(RoamingEntrySchema, { maxItems: MAX_ROAMING_BATCH }) }, { additionalProperties: false }),
]);

export const RoamingResponse = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  ttlSeconds: Type.Integer(),
  results: Type.Array(
    Type.Object({
      index: Type.Integer(),
      msisdn: Type.String({ description: 'masked' }),
      status: Type.Union([Type.Literal('accepted'), Type.Literal('rejected')]),
      reason: Type.Optional(Type.String()),
    }),
  ),
});

export const DnoRequest = Type.Object(
  {
    numbers: Type.Array(
      Type.Object({ number: Type.String({ maxLength: 64 }), label: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);

export const DnoEntry = Type.Object({ msisdn: Type.String(), label: Type.String(), addedAt: Type.String() });

export const RangeHolder = Type.Object({ prefix: Type.String({ description: 'national-number prefix, e.g. 701' }), operatorId: Type.String() });

const Address = Type.String({ maxLength: 64, pattern: '^[0-9a-fA-F:.]+(/[0-9]{1,3})?$', description: 'IP address or CIDR' });

export const TrunkBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    operator: Type.Optional(Type.String({ maxLength: 200 })),
    addresses: Type.Array(Address, { minItems: 1, maxItems: 256 }),
    ingress: IngressType,
  },
  { additionalProperties: false },
);

export const Trunk = Type.Object({
  id: Type.String(),
  name: Type.String(),
  operatorId: Type.Union([Type.String(), Type.Null()]),
  addresses: Type.Array(Type.String()),
  ingress: IngressType,
});
