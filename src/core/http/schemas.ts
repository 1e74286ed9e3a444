import { Type } from '@sinclair/typebox';

/** RFC 9457 problem details, referenced by every route's error responses. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    requestId: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details' },
);

/** Error responses shared by every authenticated route. */
export const authErrors = { 400: Problem, 401: Problem, 403: Problem, 429: Problem } as const;
