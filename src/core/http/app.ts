import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type onRequestHookHandler } from 'fastify';
import { maskDigits } from '../../identifiers/hashing.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { frameworkErrors, installErrorHandling } from './errors.js';
import { swaggerOptions } from './openapi.js';
import { DEFAULT_HTTP_LIMITS, enforceLimits, serverOptions, type ClosedReason, type HttpLimits } from './limits.js';
import { PROBLEM_BASE, problems } from './problem.js';
import { buildValidator } from './validation.js';

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Scope the caller's credential must carry. */
    scope?: string;
    /** Reachable without credentials (always rate-limited). */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The matched route's URL pattern (the metric and log label), or null when no route matched. */
    routeUrl: string | null;
  }
}

/**
 * Admits or refuses a request to a route that is not public: calls `done()` to go on or `done(err)` to refuse.
 * Callback style, so a check answered from memory costs no promise.
 */
export type RouteGuard = (request: FastifyRequest, scope: string | undefined, done: (err?: Error) => void) => void;

export interface HttpAppOptions {
  logger: Logger;
  metrics: Metrics;
  bodyLimit?: number;
  trustProxy?: boolean | string;
  /** Shared rate-limit store (several instances); the plugin's in-memory store when absent. */
  rateLimitStore?: unknown;
  /** Checks the credential of every route that is not public; without one, every route is open (tests of the stack). */
  guard?: RouteGuard;
  /** Timeouts and the per-address connection cap; DEFAULT_HTTP_LIMITS when absent. */
  limits?: HttpLimits;
}

/** A route's hook option (none, one, or several) as a list. */
export const hooks = <T>(option: T | T[] | undefined): T[] => (option === undefined ? [] : Array.isArray(option) ? option : [option]);

const PUBLIC_RATE_LIMIT = { max: 600, timeWindow: '1 minute' };
const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export async function createHttpApp(options: HttpAppOptions): Promise<App> {
  // Request ids: a random prefix per instance and a counter (unique across instances, and cheaper than a UUID each).
  const idPrefix = randomBytes(9).toString('base64url');
  let idCounter = 0;
  const requestId = (req: IncomingMessage) => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && REQUEST_ID.test(given) ? given : `${idPrefix}-${(++idCounter).toString(36)}`;
  };
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const closedBy = (reason: ClosedReason) => options.metrics.httpConnectionsClosed.inc({ reason });
  const app = Fastify({
    // Our own server, for its timeouts and the per-address connection cap (limits.ts), held on every connection.
    serverFactory: (handler) => {
      const server = createServer(serverOptions(limits), handler);
      enforceLimits(server, limits, options.trustProxy ?? false, closedBy);
      return server;
    },
    loggerInstance: options.logger as FastifyBaseLogger,
    // Fastify's own two lines per request are replaced by one line in onResponse (with identifiers masked).
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child per request (a measurable share of a hot route's cost): request.log is the app's logger, and
    // the lines this app writes carry the request id themselves.
    childLoggerFactory: (logger) => logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestIdHeader: false,
    genReqId: requestId,
    forceCloseConnections: 'idle',
    // Requests that arrive on open connections while draining are served, not refused.
    return503OnClosing: false,
    trustProxy: options.trustProxy ?? false,
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler: (err, socket) => {
      const code = (err as NodeJS.ErrnoException).code;
      const [status, slug, title, detail] =
        code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers-too-large', 'Request header fields too large', 'the request headers exceed 16 KiB']
        : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request-timeout', 'Request timeout', 'the request headers did not arrive in time']
        : [400, 'bad-request', 'Bad request', 'the request could not be parsed'];
      if (status === 408) closedBy('headers-timeout');
      const body = JSON.stringify({ type: `${PROBLEM_BASE}${slug}`, title, status, detail });
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      else socket.destroy();
    },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
    // Every error of small data, the first error of big data (validation.ts); a 400 lists at most 20 (errors.ts).
    schemaController: { compilersFactory: { buildValidator } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  // JSON only, unless a module registers its own parser (CSV uploads): text/plain is a 415, not a guess.
  app.removeContentTypeParser('text/plain');
  // Runs before the plugins' own onRoute hooks: documentation is public, and every public route is rate-limited.
  // Each route gets one onRequest hook of its own, made here with what it needs (its URL, whether it is public, its
  // scope) closed over: the hot path reads no route options per request and runs one hook, not three.
  app.decorateRequest('routeUrl', null);
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
    if (route.config?.public) route.config = { rateLimit: PUBLIC_RATE_LIMIT, ...route.config };
    const scope = route.config?.scope;
    // In the OpenAPI document: the credential and scope a route needs, or none (`[]`) for a public one.
    const needs = scope ? [scope] : [];
    route.schema = { ...route.schema, security: route.config?.public ? [] : [{ apiKey: needs }, { session: needs }] };
    const url = route.url;
    const guard = route.config?.public ? undefined : options.guard;
    const enter: onRequestHookHandler = (request, reply, done) => {
      request.routeUrl = url;
      reply.header('x-request-id', request.id);
      if (guard === undefined) return done();
      guard(request, scope, done);
    };
    route.onRequest = [enter, ...hooks(route.onRequest)];
  });
  await app.register(rateLimit, {
    global: false,
    skipOnError: true,
    ...(options.rateLimitStore ? { store: options.rateLimitStore as never } : {}),
    errorResponseBuilder: (_req, ctx) =>
      problems.tooManyRequests(`rate limit of ${ctx.max} requests exceeded; retry in ${ctx.after}`, Math.ceil(ctx.ttl / 1000)),
  });
  await app.register(swagger, swaggerOptions);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  // The duration histogram and the one line per request (identifiers masked). Callback style: it runs on every
  // request, and skips a promise.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeUrl ?? 'unmatched';
    const ms = reply.elapsedTime;
    options.metrics.httpDuration.observe(request.method, route, reply.statusCode, ms / 1000);
    if (options.logger.isLevelEnabled('info')) {
      const line = { reqId: request.id, method: request.method, url: maskDigits(request.url), route, status: reply.statusCode, ms: Math.round(ms * 10) / 10, ip: request.ip };
      options.logger.info(line, 'request');
    }
    done();
  });
  return app;
}
