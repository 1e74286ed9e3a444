import { Type } from '@sinclair/typebox';

const STATUSES = ['running', 'committed', 'refused', 'failed', 'abandoned'] as const;

export const ImportStatus = Type.Union(
  STATUSES.map((s) => Type.Literal(s)),
  {
    description:
      'running; committed (landed whole); refused (nothing landed: see refusal); failed (nothing landed: an internal error); abandoned (its process died)',
  },
);

export const ImportItem = Type.Object({
  id: Type.String({ description: 'The import id (the client’s Import-Id with "-" as "_", or a random one)' }),
  kind: Type.String({ description: 'What is imported, as <module>.<feed>, e.g. devices.observations' }),
  orgId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The organisation whose data it is (null: the platform’s own)' }),
  actorOrgId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The organisation that ran it' }),
  actor: Type.String({ description: 'Who ran it: apikey:<name> (qk_<prefix>), user:<email> or system:<command>' }),
  status: ImportStatus,
  rows: Type.Integer({ description: 'Data rows read so far' }),
  accepted: Type.Integer(),
  rejected: Type.Integer({ description: 'Rows rejected so far' }),
  bytes: Type.Integer({ description: 'Bytes of the body read so far (compressed bytes for gzip)' }),
  refusal: Type.Union([Type.String(), Type.Null()], { description: 'Why the whole import was refused' }),
  errors: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() }), { description: 'The first rejected rows (up to 100)' }),
  startedAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time', description: 'Last progress written (about once a second while running)' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  seconds: Type.Number({ description: 'How long it ran, or has been running' }),
});

export const ImportsQuery = Type.Object(
  {
    kind: Type.Optional(Type.String({ maxLength: 100 })),
    status: Type.Optional(ImportStatus),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const ImportParams = Type.Object({
  id: Type.String({ pattern: '^[a-z0-9_-]{1,40}$', description: 'The import id (a "-" is read as "_")' }),
});
