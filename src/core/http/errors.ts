import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type DomainErrorKind } from '../errors.js';
import { HttpProblem, problems, type FieldError, type ProblemBody } from './problem.js';

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300']);

/** A database or broker that is down or restarting: the client may retry, so it is a 503, not a 500. */
function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e.code && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  const msg = e.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed|CONNECTION_CLOSED/i.test(
    msg,
  );
}

const DOMAIN_STATUS: Record<DomainErrorKind, [number, string, string]> = {
  invalid: [400, 'bad-request', 'Bad request'],
  not_found: [404, 'not-found', 'Not found'],
  conflict: [409, 'conflict', 'Conflict'],
  unauthenticated: [401, 'unauthorized', 'Unauthorized'],
  forbidden: [403, 'forbidden', 'Forbidden'],
  locked: [429, 'locked', 'Temporarily locked'],
  unprocessable: [422, 'unprocessable', 'Unprocessable request'],
  unavailable: [503, 'unavailable', 'Service unavailable'],
};

function fromDomain(err: DomainError): HttpProblem {
  const [status, slug, title] = DOMAIN_STATUS[err.kind];
  const retry = err.kind === 'unavailable' ? 5 : err.details.retryAfter;
  return new HttpProblem(status, slug, title, err.message, err.details, typeof retry === 'number' ? { 'retry-after': String(retry) } : {});
}

function fieldErrors(err: FastifyError): FieldError[] {
  const context = err.validationContext ?? 'body';
  return (err.validation ?? []).map((v) => {
    const missing = (v.params as { missingProperty?: string }).missingProperty;
    const path = [context, ...v.instancePath.split('/').filter(Boolean), ...(missing ? [missing] : [])].join('.');
    return { field: path, message: v.message ?? 'is invalid' };
  });
}

/** Maps an error to a problem: Fastify's own errors by code; anything unknown becomes a 500 that says nothing internal. */
export function toProblem(err: FastifyError, request: Pick<FastifyRequest, 'id' | 'headers'>): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof DomainError) return fromDomain(err);
  if (err.validation) return problems.validation(fieldErrors(err));
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpProblem(413, 'payload-too-large', 'Payload too large', 'the request body exceeds the limit for this endpoint');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpProblem(
        415,
        'unsupported-media-type',
        'Unsupported media type',
        `content type "${request.headers['content-type'] ?? ''}" is not accepted here`,
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problems.badRequest(err.message);
  }
  if (err.statusCode === 429) return problems.tooManyRequests(err.message, Number((err as { retryAfter?: number }).retryAfter ?? 60));
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new HttpProblem(err.statusCode, 'bad-request', 'Bad request', err.message);
  if (isUnavailable(err)) return problems.unavailable('a backing service is unavailable; retry shortly');
  // PostgreSQL data exceptions (class 22: out-of-range numbers and dates, NUL bytes, bad encodings) come from input.
  if (typeof err.code === 'string' && /^22[0-9A-Z]{3}$/.test(err.code))
    return problems.badRequest('a value in the request is out of range or not representable');
  return new HttpProblem(500, 'internal', 'Internal server error', `an unexpected error occurred; quote request id ${request.id}`);
}

export function sendProblem(reply: FastifyReply, problem: HttpProblem): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return sendProblemBody(reply, problem.toBody(reply.request.url.split('?')[0]));
}

/** Sends a problem body as is (for answers that are not errors, such as an EIR's "unknown equipment"). */
export function sendProblemBody(reply: FastifyReply, body: ProblemBody): FastifyReply {
  // Routes set x-request-id on entry; answers from the not-found handler and pre-routing errors get it here.
  return reply
    .header('x-request-id', reply.request.id)
    .code(body.status)
    .type('application/problem+json')
    .send({ ...body, requestId: reply.request.id });
}

/** The problem for an error a request ran into; a 5xx is logged (with the error) once, here. */
export function problemFor(err: unknown, request: Pick<FastifyRequest, 'id' | 'headers'>, logger: Pick<FastifyBaseLogger, 'error'>): HttpProblem {
  const problem = toProblem((err instanceof Error ? err : new Error(String(err))) as FastifyError, request);
  if (problem.status >= 500) logger.error({ reqId: request.id, err, status: problem.status }, 'request failed');
  return problem;
}

/** Errors Fastify raises before routing (bad URL encoding, over-long path parameters) as problem details. */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  void sendProblem(
    reply,
    new HttpProblem(status, status === 414 ? 'uri-too-long' : 'bad-request', status === 414 ? 'URI too long' : 'Bad request', err.message),
  );
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => sendProblem(reply, problemFor(err, request, request.log)));
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problems.notFound(`no route ${request.method} ${request.url.split('?')[0]}`)));
}
