import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type onRequestHookHandler } from 'fastify';
import { maskDigits } from '../../identifiers/hashing.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { frameworkErrors, installErrorHandling } from './errors.js';
import { buildValidator } from './validation.js';

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

/** Which listener answered: the main API (`PORT`) or the SBI (`SBI_PORT`); the `listener` label of metrics and logs. */
export type Listener = 'api' | 'sbi';

/**
 * Admits or refuses a request to a route that is not public: calls `done()` to go on or `done(err)` to refuse.
 * Callback style, so a check answered from memory costs no promise.
 */
export type RouteGuard = (request: FastifyRequest, scope: string | undefined, done: (err?: Error) => void) => void;

/** A route's hook option (none, one, or several) as a list. */
export const hooks = <T>(option: T | T[] | undefined): T[] => (option === undefined ? [] : Array.isArray(option) ? option : [option]);

/**
 * The app route plugins are written against: the main API's Fastify instance. The SBI's runs the same plugins over
 * HTTP/2, whose request and reply behave the same for them.
 */
export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Request ids: the caller's `x-request-id` when well-formed, else a random prefix per instance and a counter. */
function requestIds(): (req: { headers: Record<string, string | string[] | undefined> }) => string {
  // Unique across instances, and cheaper than a UUID each.
  const idPrefix = randomBytes(9).toString('base64url');
  let idCounter = 0;
  return (req) => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && REQUEST_ID.test(given) ? given : `${idPrefix}-${(++idCounter).toString(36)}`;
  };
}

/** The Fastify options both listeners share (the server, its limits and anything HTTP/1.1-only are each app's own). */
export function sharedFastifyOptions(logger: Logger, bodyLimit: number) {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    // Fastify's own two lines per request are replaced by one line in onResponse (with identifiers masked).
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child per request (a measurable share of a hot route's cost): request.log is the app's logger, and
    // the lines this app writes carry the request id themselves.
    childLoggerFactory: (parent: FastifyBaseLogger) => parent,
    bodyLimit,
    requestIdHeader: false as const,
    genReqId: requestIds(),
    // Requests that arrive on open connections while draining are served, not refused.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 200 },
    frameworkErrors,
    ajv: { customOptions: { coerceTypes: 'array' as const, removeAdditional: false } },
    // Every error of small data, the first error of big data (validation.ts); a 400 lists at most 20 (errors.ts).
    schemaController: { compilersFactory: { buildValidator } },
  };
}

export interface PipelineOptions {
  listener: Listener;
  logger: Logger;
  metrics: Metrics;
  /** Checks the credential of every route that is not public; without one, every route is open (tests of the stack). */
  guard?: RouteGuard;
}

/**
 * The request pipeline both listeners run, so a route answers the same on either: problem details for every error,
 * JSON bodies, the guard on every route that is not public (one onRequest hook per route), and one log line and one
 * duration observation per request, labelled with the listener. Call before registering routes; an app's own onRoute
 * hooks that decide `config.public` must be added before this.
 */
export function configurePipeline(app: App, options: PipelineOptions): void {
  const { listener, logger, metrics } = options;
  installErrorHandling(app);
  // JSON only, unless a module registers its own parser (CSV uploads): text/plain is a 415, not a guess.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('routeUrl', null);
  app.decorateRequest('principal', null);
  // Each route gets one onRequest hook of its own, made here with what it needs (its URL, whether it is public, its
  // scope) closed over: the hot path reads no route options per request and runs one hook, not three.
  app.addHook('onRoute', (route) => {
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
  // The duration histogram and the one line per request (identifiers masked). Callback style: it runs on every
  // request, and skips a promise.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeUrl ?? 'unmatched';
    const ms = reply.elapsedTime;
    metrics.httpDuration.observe(listener, request.method, route, reply.statusCode, ms / 1000);
    if (logger.isLevelEnabled('info')) {
      const line = {
        listener,
        reqId: request.id,
        method: request.method,
        url: maskDigits(request.url),
        route,
        status: reply.statusCode,
        ms: Math.round(ms * 10) / 10,
        ip: request.ip,
      };
      logger.info(line, 'request');
    }
    done();
  });
}
