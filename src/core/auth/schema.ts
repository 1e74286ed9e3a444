import { Type, type Static } from '@sinclair/typebox';

export const OrgKindSchema = Type.Union(
  [Type.Literal('regulator'), Type.Literal('operator'), Type.Literal('bank'), Type.Literal('marketplace'), Type.Literal('isp'), Type.Literal('police')],
  { description: 'Kind of organisation' },
);

export const Organisation = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: OrgKindSchema,
  createdAt: Type.String({ format: 'date-time' }),
});

export const CreateOrg = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), kind: OrgKindSchema }, { additionalProperties: false });
export type CreateOrg = Static<typeof CreateOrg>;

export const CreateApiKey = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    scopes: Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { minItems: 1, maxItems: 50, description: 'Scopes; "*" grants all' }),
  },
  { additionalProperties: false },
);

export const ApiKeyInfo = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const CreatedApiKey = Type.Object({
  id: Type.String({ format: 'uuid' }),
  key: Type.String({ description: 'The key itself. Shown once; Qalqan stores only a keyed hash.' }),
  prefix: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
});

export const CreateUser = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 200 }),
    role: Type.String({ minLength: 1, maxLength: 50 }),
    org: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Organisation id or name' })),
  },
  { additionalProperties: false },
);

export const CreatedUser = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: Type.String(),
  oneTimePassword: Type.String({ description: 'Shown once; the user must change it at first sign-in' }),
});

export const Login = Type.Object(
  { email: Type.String({ minLength: 3, maxLength: 200 }), password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const Me = Type.Object({
  kind: Type.String(),
  id: Type.String(),
  label: Type.String(),
  orgId: Type.Union([Type.String(), Type.Null()]),
  orgKind: Type.Union([Type.String({ description: 'Kind of the organisation; null for platform staff' }), Type.Null()]),
  scopes: Type.Array(Type.String({ description: 'Effective scopes: those given, within what the organisation’s kind may hold (* expanded)' })),
});

export const ChangePassword = Type.Object(
  { currentPassword: Type.String({ minLength: 1, maxLength: 200 }), newPassword: Type.String({ minLength: 12, maxLength: 200 }) },
  { additionalProperties: false },
);
