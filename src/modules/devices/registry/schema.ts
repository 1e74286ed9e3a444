import { Type } from '@sinclair/typebox';

export const Imei = Type.String({ minLength: 1, maxLength: 32, description: 'IMEI: 15 digits with the Luhn check digit (or IMEISV, 16 digits)' });

export const RegistrationRequest = Type.Object(
  {
    imeis: Type.Array(Imei, { minItems: 1, maxItems: 10_000 }),
    source: Type.Union([Type.Literal('importer'), Type.Literal('individual'), Type.Literal('service_centre'), Type.Literal('grandfathered')]),
    reference: Type.Optional(Type.String({ maxLength: 200, description: 'customs declaration, fee receipt or parcel tracking number' })),
  },
  { additionalProperties: false },
);

export const RegistrationOutcome = Type.Object({
  imei: Type.String(),
  result: Type.Union([Type.Literal('registered'), Type.Literal('rejected')]),
  reason: Type.Optional(
    Type.String({ description: 'INVALID_FORMAT, INVALID_CHECK_DIGIT, TAC_UNKNOWN, ALREADY_REGISTERED, DUPLICATE_IN_REQUEST, REPORTED_STOLEN' }),
  ),
  detail: Type.Optional(Type.String()),
});

export const Tac = Type.Object({
  tac: Type.String(),
  manufacturer: Type.String(),
  modelName: Type.String(),
  bands: Type.Union([Type.String(), Type.Null()]),
  allocationDate: Type.Union([Type.String(), Type.Null()]),
  deviceType: Type.Union([Type.String(), Type.Null()]),
});

export const PublicImei = Type.Object({
  imei: Type.String(),
  valid: Type.Boolean({ description: '15 digits with a correct check digit' }),
  tacKnown: Type.Boolean({ description: 'the IMEI’s TAC (its first 8 digits: the model) is in the TAC database; false for an invalid IMEI' }),
  status: Type.Union([Type.Literal('registered'), Type.Literal('unregistered'), Type.Literal('blocked'), Type.Null()], {
    description: 'null when the IMEI is invalid or its TAC is unknown',
  }),
  brand: Type.Union([Type.String(), Type.Null()]),
  model: Type.Union([Type.String(), Type.Null()]),
});
