import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { swaggerOptions } from './openapi.js';
import { DEFAULT_HTTP_LIMITS, enforceLimits, serverOptions, type ClosedReason, type HttpLimits } from './limits.js';
import { configurePipeline, sharedFastifyOptions, type App, type RouteGuard } from './pipeline.js';
import { PROBLEM_BASE, problems } from './problem.js';

export type { App } from './pipeline.js';

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

const PUBLIC_RATE_LIMIT = { max: 600, timeWindow: '1 minute' };

/** The server's connection preface (an empty SETTINGS frame), then GOAWAY: last stream 0, HTTP_1_1_REQUIRED (0xd). */
const HTTP2_REFUSAL = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xd]);

/** A request Node's HTTP/1.1 parser refused, answered in HTTP/1.1 (or, to an HTTP/2 client, in its own framing). */
function refuseUnparsed(err: Error, socket: Socket, closedBy: (reason: ClosedReason) => void): void {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'HPE_PAUSED_H2_UPGRADE') {
    // An HTTP/2 preface (prior knowledge): this port speaks HTTP/1.1, HTTP/2 is the SBI's (SBI_PORT).
    if (socket.writable) socket.end(HTTP2_REFUSAL);
    else socket.destroy();
    return;
  }
  const [status, slug, title, detail] =
    code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers-too-large', 'Request header fields too large', 'the request headers exceed 16 KiB']
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', 'Request timeout', 'the request headers did not arrive in time']
        : [400, 'bad-request', 'Bad request', 'the request could not be parsed'];
  if (status === 408) closedBy('headers-timeout');
  const body = JSON.stringify({ type: `${PROBLEM_BASE}${slug}`, title, status, detail });
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  else socket.destroy();
}

/**
 * The main API (HTTP/1.1, `PORT`): the request pipeline both listeners share (pipeline.ts), plus what people and
 * browsers need here only: rate limits on public routes, the OpenAPI document and its browsable docs.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<App> {
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const closedBy = (reason: ClosedReason) => options.metrics.httpConnectionsClosed.inc({ listener: 'api', reason });
  const app = Fastify({
    ...sharedFastifyOptions(options.logger, options.bodyLimit ?? 1024 * 1024),
    // Our own server, for its timeouts and the per-address connection cap (limits.ts), held on every connection.
    serverFactory: (handler) => {
      const server = createServer(serverOptions(limits), handler);
      enforceLimits(server, limits, options.trustProxy ?? false, closedBy);
      return server;
    },
    forceCloseConnections: 'idle',
    trustProxy: options.trustProxy ?? false,
    clientErrorHandler: (err, socket) => refuseUnparsed(err, socket as Socket, closedBy),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Before the pipeline's own onRoute hook, which reads `public`: documentation is public, and every public route is
  // rate-limited.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
    if (route.config?.public) route.config = { rateLimit: PUBLIC_RATE_LIMIT, ...route.config };
  });
  configurePipeline(app, { listener: 'api', logger: options.logger, metrics: options.metrics, guard: options.guard });
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
  return app;
}
