import type { Http2SecureServer, Http2Server } from 'node:http2';
import type { Server } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyHttpOptions } from 'fastify';
import type { Logger } from '../logger.js';
import type { ModuleRoutes } from '../module.js';
import type { Metrics } from '../metrics.js';
import { createHttp2Server, type Http2Handler, type SbiTls } from './http2-server.js';
import { DEFAULT_HTTP2_LIMITS, DEFAULT_HTTP_LIMITS, type ClosedReason, type Http2Limits, type HttpLimits } from './limits.js';
import { configurePipeline, sharedFastifyOptions, type App, type RouteGuard } from './pipeline.js';

/** The SBI's Fastify instance, on its HTTP/2 server. */
export type SbiApp = Omit<App, 'server'> & { server: Http2Server | Http2SecureServer };

export interface SbiAppOptions {
  logger: Logger;
  metrics: Metrics;
  /** The main API's guard: every SBI route needs an API key with the route's scope. */
  guard: RouteGuard;
  /** TLS (and mutual TLS), or null for h2c with prior knowledge. */
  tls: SbiTls | null;
  /** The main API's timeouts and per-address cap; DEFAULT_HTTP_LIMITS when absent. */
  limits?: HttpLimits;
  /** Concurrent streams, header list; DEFAULT_HTTP2_LIMITS when absent. */
  http2Limits?: Http2Limits;
  bodyLimit?: number;
}

/**
 * The SBI: a lean Fastify instance on HTTP/2 for core networks and switches (no cookies, no documentation, no rate
 * limits of public routes: it has none), running the main API's pipeline (pipeline.ts) with the main API's route
 * plugins (written once, for the main API), so a route answers the same on both listeners.
 */
export async function createSbiApp(options: SbiAppOptions, routes: readonly ModuleRoutes[]): Promise<SbiApp> {
  const closedBy = (reason: ClosedReason) => options.metrics.httpConnectionsClosed.inc({ listener: 'sbi', reason });
  const config = {
    tls: options.tls,
    limits: options.limits ?? DEFAULT_HTTP_LIMITS,
    http2Limits: options.http2Limits ?? DEFAULT_HTTP2_LIMITS,
    closed: closedBy,
  };
  const http2Options = {
    ...sharedFastifyOptions(options.logger, options.bodyLimit ?? 1024 * 1024),
    http2: true,
    serverFactory: (handler: Http2Handler) => createHttp2Server(handler, config),
    // Sessions are closed (GOAWAY) by the server's closeHttp2Sessions when the app closes.
    forceCloseConnections: false,
  };
  // Typed as the main API's app: Fastify's types make an HTTP/2 app a different type, but the pipeline and the route
  // plugins use only Fastify's request and reply, which behave the same over HTTP/2.
  const app = Fastify(http2Options as unknown as FastifyHttpOptions<Server>).withTypeProvider<TypeBoxTypeProvider>();
  // A TLS client refused (no certificate, another CA's, an expired one, a failed handshake): one line each, with
  // the certificate's verification error when that was the reason.
  app.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    const code = socket.authorizationError ? String(socket.authorizationError) : err.code;
    options.logger.info({ listener: 'sbi', code, reason: err.message, ip: socket.remoteAddress }, 'TLS client refused');
  });
  configurePipeline(app, { listener: 'sbi', logger: options.logger, metrics: options.metrics, guard: options.guard });
  for (const plugin of routes) await app.register(plugin);
  return app as unknown as SbiApp;
}
