/** RFC 9457 problem details. Every error that leaves the server is one of these. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

export const PROBLEM_BASE = 'https://qalqan.kz/problems/';

export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail?: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: PROBLEM_BASE + this.slug,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

/** A validation problem lists at most this many field errors (a huge invalid body must not make a huge answer). */
export const MAX_FIELD_ERRORS = 20;

export interface FieldError {
  field: string;
  message: string;
}

export const problems = {
  badRequest: (detail: string, extensions?: Record<string, unknown>) => new HttpProblem(400, 'bad-request', 'Bad request', detail, extensions),
  /** Lists the first MAX_FIELD_ERRORS errors; `errorCount` says how many were found. */
  validation: (errors: FieldError[]) => {
    const shown = errors.slice(0, MAX_FIELD_ERRORS);
    const more = errors.length > shown.length ? `; and ${errors.length - shown.length} more` : '';
    const detail = shown.map((e) => `${e.field}: ${e.message}`).join('; ') + more;
    return new HttpProblem(400, 'validation-error', 'Request validation failed', detail, { errors: shown, errorCount: errors.length });
  },
  unauthorized: (detail = 'missing or invalid credentials') =>
    new HttpProblem(401, 'unauthorized', 'Unauthorized', detail, {}, { 'www-authenticate': 'Bearer realm="qalqan"' }),
  forbidden: (scope: string) => new HttpProblem(403, 'forbidden', 'Forbidden', `this credential lacks the scope "${scope}"`, { requiredScope: scope }),
  notFound: (detail: string) => new HttpProblem(404, 'not-found', 'Not found', detail),
  conflict: (detail: string) => new HttpProblem(409, 'conflict', 'Conflict', detail),
  unprocessable: (detail: string, extensions?: Record<string, unknown>) => new HttpProblem(422, 'unprocessable', 'Unprocessable request', detail, extensions),
  tooManyRequests: (detail: string, retryAfterSeconds: number) =>
    new HttpProblem(429, 'rate-limited', 'Too many requests', detail, { retryAfter: retryAfterSeconds }, { 'retry-after': String(retryAfterSeconds) }),
  unavailable: (detail: string) => new HttpProblem(503, 'unavailable', 'Service unavailable', detail, {}, { 'retry-after': '5' }),
};
