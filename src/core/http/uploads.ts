import { Transform, type Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { ImportReport as Report } from '../ingest/report.js';
import type { FastifyRequest, onRequestHookHandler, onSendHookHandler } from 'fastify';
import type { UploadOptions } from '../ingest/service.js';
import { Refusal } from '../ingest/source.js';
import type { App } from './app.js';
import { hooks } from './pipeline.js';
import { markStreamedUpload } from './limits.js';
import { HttpProblem, problems } from './problem.js';
import { Problem, authErrors } from './schemas.js';

/** Bulk files are streamed, so they may be large. */
export const UPLOAD_LIMIT = 4 * 1024 ** 3;

export const uploadErrors = { ...authErrors, 413: Problem, 415: Problem, 422: Problem };

export const ImportReport = Type.Object({
  importId: Type.String({ description: 'the import’s record: `GET /api/v1/imports/{importId}`' }),
  rows: Type.Integer(),
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  errors: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() })),
  committed: Type.Boolean(),
  refusal: Type.Optional(Type.String()),
  seconds: Type.Number(),
});

/**
 * The headers an upload may carry: `Import-Id` names the import (1–40 of a–z, 0–9, `_`, `-`), so that the client can
 * follow it at `GET /api/v1/imports/{id}` while it uploads.
 */
export const UploadHeaders = Type.Object({
  'import-id': Type.Optional(
    Type.String({
      pattern: '^[a-z0-9_-]{1,40}$',
      description: 'your own id for this import (1–40 of a–z, 0–9, `_`, `-`; `-` is recorded as `_`): follow it at `GET /api/v1/imports/{id}` while it runs',
    }),
  ),
});

/** An upload's body and the client's id for it, as a module's import function takes them. */
export function uploadOf(request: FastifyRequest): UploadOptions {
  const id = request.headers['import-id'];
  return { input: request.body as Readable, importId: typeof id === 'string' ? id : undefined };
}

/** A refused import is a 422 that still carries the report (line-numbered errors). */
export function answerImport<R extends Report>(report: R): R {
  if (!report.committed) throw problems.unprocessable(report.refusal ?? 'the import was refused; nothing was changed', { report });
  return report;
}

/** The content types a streamed upload takes. */
export const UPLOAD_TYPES = ['text/csv', 'text/plain', 'application/octet-stream'];

/** The content encodings it takes: none, or gzip (inflated by the import, with its cap on the inflated size). */
export const UPLOAD_ENCODINGS = ['identity', 'gzip', 'x-gzip'];

const encodingOf = (request: { headers: Record<string, string | string[] | undefined> }) =>
  String(request.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();

/**
 * An upload's body as the import reads it. A client that goes away mid-body ends it with a refusal (the import stops,
 * nothing is merged), not an error. A body that says gzip but does not start with gzip's magic number is refused
 * rather than read as plain text (the import inflates whatever does).
 */
function uploadBody(payload: Readable, gzip: boolean): Readable {
  let checked = !gzip;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      if (!checked && chunk.length > 0) {
        checked = true;
        if (chunk[0] !== 0x1f || (chunk.length > 1 && chunk[1] !== 0x8b))
          return next(new Refusal('the body is not gzip although its Content-Encoding says gzip'));
      }
      next(null, chunk);
    },
  });
  const cut = () => {
    if (!payload.readableEnded) body.destroy(new Refusal('the upload was cut off before the end of its body (the client went away)'));
  };
  payload.once('error', cut).once('close', cut);
  // The import may not read yet (it opens its staging table first): the error waits in the stream for its reader.
  body.on('error', () => undefined);
  payload.pipe(body);
  return body;
}

/**
 * Refuses, before a byte of the body is read, an upload without a body (400) or of a type it does not take (415,
 * naming the ones it does); the connection is closed rather than the body read. An admitted upload may take longer
 * than the request timeout while its body keeps coming (limits.ts).
 */
const admitUpload: onRequestHookHandler = (request, reply, done) => {
  const { 'content-type': type, 'content-length': length, 'transfer-encoding': chunked } = request.headers;
  const accepted = `send the file as the request body, as ${UPLOAD_TYPES.join(', ')}`;
  let refusal: HttpProblem | null = null;
  if (length === '0' || (length === undefined && chunked === undefined)) refusal = problems.badRequest(`the request has no body: ${accepted}`);
  else if (!UPLOAD_TYPES.includes(type?.split(';')[0]?.trim().toLowerCase() ?? '')) {
    refusal = new HttpProblem(415, 'unsupported-media-type', 'Unsupported media type', `content type "${type ?? ''}" is not accepted here: ${accepted}`, {
      accepted: UPLOAD_TYPES,
    });
  } else if (!UPLOAD_ENCODINGS.includes(encodingOf(request))) {
    refusal = new HttpProblem(
      415,
      'unsupported-media-type',
      'Unsupported media type',
      `content encoding "${encodingOf(request)}" is not accepted here: send the file as is or gzip-compressed (Content-Encoding: gzip)`,
      { acceptedEncodings: ['gzip'] },
    );
  }
  if (refusal === null) {
    markStreamedUpload(request.raw);
    return done();
  }
  reply.header('connection', 'close');
  done(refusal);
};

/**
 * An answer given before the body was read to its end (a second import refused, a file refused at its header) closes
 * the connection: the rest of a large upload is not read only to be thrown away.
 */
const closeUnread: onSendHookHandler = (request, reply, payload, done) => {
  const body = request.body as Readable | undefined;
  if (body && typeof body.readableEnded === 'boolean' && !body.readableEnded) reply.header('connection', 'close');
  done(null, payload);
};

/**
 * Streams CSV uploads to the route instead of buffering them (register inside the module's routes plugin). Every
 * route of the plugin with `bodyLimit: UPLOAD_LIMIT` is a streamed upload: its body is a Readable, admitted above.
 */
export function acceptCsv(app: App): void {
  app.addContentTypeParser(UPLOAD_TYPES, (request, payload, done) => done(null, uploadBody(payload, encodingOf(request) !== 'identity')));
  app.addHook('onRoute', (route) => {
    if (route.bodyLimit !== UPLOAD_LIMIT) return;
    route.onRequest = [...hooks(route.onRequest), admitUpload];
    route.onSend = [...hooks(route.onSend), closeUnread];
    // The OpenAPI document describes the streamed body (openapi.ts), so /docs can send a file.
    route.schema = { headers: UploadHeaders, ...route.schema, consumes: UPLOAD_TYPES } as typeof route.schema;
  });
}
