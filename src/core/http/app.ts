import { randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { maskDigits } from '../../identifiers/hashing.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { frameworkErrors, installErrorHandling } from './errors.js';
import { PROBLEM_BASE, problems } from './problem.js';

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
}

export interface HttpAppOptions {
  logger: Logger;
  metrics: Metrics;
  bodyLimit?: number;
  trustProxy?: boolean | string;
  /** Shared rate-limit store (several instances); the plugin's in-memory store when absent. */
  rateLimitStore?: unknown;
}

const PUBLIC_RATE_LIMIT = { max: 600, timeWindow: '1 minute' };
const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export async function createHttpApp(options: HttpAppOptions): Promise<App> {
  // Request ids: a random prefix per instance and a counter (unique across instances, and cheaper than a UUID each).
  const idPrefix = randomBytes(9).toString('base64url');
  let idCounter = 0;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Fastify's own two lines per request are replaced by one line in onResponse (with identifiers masked).
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child per request (a measurable share of a hot route's cost): request.log is the app's logger, and
    // the lines this app writes carry the request id themselves.
    childLoggerFactory: (logger) => logger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `${idPrefix}-${(++idCounter).toString(36)}`;
    },
    forceCloseConnections: 'idle',
    // Requests that arrive on open connections while draining are served, not refused.
    return503OnClosing: false,
    trustProxy: options.trustProxy ?? false,
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler: (err, socket) => {
      const code = (err as NodeJS.ErrnoException).code;
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const title = status === 431 ? 'Request header fields too large' : 'Bad request';
      const body = JSON.stringify({ type: `${PROBLEM_BASE}${status === 431 ? 'headers-too-large' : 'bad-request'}`, title, status, detail: status === 431 ? 'the request headers exceed 16 KiB' : 'the request could not be parsed' });
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      else socket.destroy();
    },
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  // JSON only, unless a module registers its own parser (CSV uploads): text/plain is a 415, not a guess.
  app.removeContentTypeParser('text/plain');
  // Runs before the plugins' own onRoute hooks: documentation is public, and every public route is rate-limited.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
    if (route.config?.public) route.config = { rateLimit: PUBLIC_RATE_LIMIT, ...route.config };
    const scope = route.config?.scope;
    if (scope && route.schema) route.schema.security = [{ apiKey: [scope] }, { session: [scope] }];
  });
  await app.register(rateLimit, {
    global: false,
    skipOnError: true,
    ...(options.rateLimitStore ? { store: options.rateLimitStore as never } : {}),
    errorResponseBuilder: (_req, ctx) =>
      problems.tooManyRequests(`rate limit of ${ctx.max} requests exceeded; retry in ${ctx.after}`, Math.ceil(ctx.ttl / 1000)),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Qalqan API', version: '1', description: 'National anti-fraud platform. Errors are RFC 9457 problem details.' },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'Organisation API key: `Authorization: Bearer qk_…`' },
          session: { type: 'apiKey', in: 'cookie', name: 'qalqan_session', description: 'Console session from POST /api/v1/auth/login' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  // Callback-style hooks: they run on every request, and skip a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpDuration.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (options.logger.isLevelEnabled('info')) {
      request.log.info(
        { reqId: request.id, method: request.method, url: maskDigits(request.url), route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, ip: request.ip },
        'request',
      );
    }
    done();
  });
  return app;
}
