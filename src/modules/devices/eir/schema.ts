import { Type } from '@sinclair/typebox';

export const BatchRequest = Type.Object(
  { imeis: Type.Array(Type.String({ maxLength: 32 }), { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);

export const BatchItem = Type.Object({
  imei: Type.String(),
  valid: Type.Boolean(),
  status: Type.Union([Type.Literal('WHITELISTED'), Type.Literal('GREYLISTED'), Type.Literal('BLACKLISTED'), Type.Null()]),
  reasons: Type.Array(Type.String()),
  deadline: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

export const EirResponseData = Type.Object({
  status: Type.Union([Type.Literal('WHITELISTED'), Type.Literal('BLACKLISTED'), Type.Literal('GREYLISTED')]),
});

/** TS 29.571 ProblemDetails with `cause` and `invalidParams`. */
export const ProblemDetails3gpp = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    cause: Type.Optional(Type.String()),
    invalidParams: Type.Optional(Type.Array(Type.Object({ param: Type.String(), reason: Type.Optional(Type.String()) }))),
  },
  { additionalProperties: true },
);
