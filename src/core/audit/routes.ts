import { Type } from '@sinclair/typebox';
import type { App } from '../http/app.js';
import { requestContext } from '../http/auth-hook.js';
import { problems } from '../http/problem.js';
import { authErrors } from '../http/schemas.js';
import type { AuditService } from './service.js';

const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Type.String({ maxLength: 300, description: 'Exact actor, e.g. "user:admin@qalqan.local"' })),
    orgId: Type.Optional(Type.String({ format: 'uuid' })),
    action: Type.Optional(Type.String({ maxLength: 100 })),
    subjectType: Type.Optional(Type.String({ maxLength: 100 })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    cursor: Type.Optional(Type.String({ maxLength: 100, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

const AuditItem = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  orgId: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  subjectType: Type.Union([Type.String(), Type.Null()]),
  subject: Type.Union([Type.String(), Type.Null()]),
  requestId: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

/** A date-time the database can store (years 1–9999), or a 400 naming the parameter. */
function dateParam(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999)
    throw problems.validation([{ field: `querystring.${name}`, message: 'must be a date-time between years 1 and 9999' }]);
  return date;
}

export function auditRoutes(audit: AuditService) {
  return async function (app: App): Promise<void> {
    app.get(
      '/api/v1/audit',
      {
        config: { scope: 'audit:read' },
        schema: {
          tags: ['audit'],
          summary: 'Audit log, newest first, with filters and cursor pagination',
          querystring: AuditQuery,
          response: { 200: Type.Object({ items: Type.Array(AuditItem), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...authErrors },
        },
      },
      async (request) => {
        const q = request.query;
        const page = await audit.list(requestContext(request), { ...q, from: dateParam('from', q.from), to: dateParam('to', q.to) });
        return { items: page.items.map((i) => ({ ...i, at: i.at.toISOString() })), nextCursor: page.nextCursor };
      },
    );
  };
}
