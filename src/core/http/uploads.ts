import { Type } from '@sinclair/typebox';
import type { ImportReport as Report } from '../imports/csv-import.js';
import type { App } from './app.js';
import { problems } from './problem.js';
import { Problem, authErrors } from './schemas.js';

/** Bulk files are streamed, so they may be large. */
export const UPLOAD_LIMIT = 4 * 1024 ** 3;

export const uploadErrors = { ...authErrors, 413: Problem, 415: Problem, 422: Problem };

export const ImportReport = Type.Object({
  rows: Type.Integer(),
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  errors: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() })),
  committed: Type.Boolean(),
  refusal: Type.Optional(Type.String()),
  seconds: Type.Number(),
});

/** A refused import is a 422 that still carries the report (line-numbered errors). */
export function answerImport<R extends Report>(report: R): R {
  if (!report.committed) throw problems.unprocessable(report.refusal ?? 'the import was refused; nothing was changed', { report });
  return report;
}

/** Streams CSV uploads to the route instead of buffering them (register inside the module's routes plugin). */
export function acceptCsv(app: App): void {
  app.addContentTypeParser(['text/csv', 'text/plain', 'application/octet-stream'], (_request, payload, done) => done(null, payload));
}
