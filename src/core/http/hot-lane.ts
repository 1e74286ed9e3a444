import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { preParsingHookHandler } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import type { ProblemBody } from './problem.js';

/** What a hot route's answer is given: the request id, the admitted caller, the query (GET) or the checked body (POST). */
export interface HotInput<B> {
  id: string;
  principal: Principal;
  /** GET: the query parameters (plain ones only: anything encoded goes through the framework). */
  query: ReadonlyMap<string, string>;
  body: B;
}

/** A 2xx body, or a problem (sent as `application/problem+json` with the request id, like every other problem). */
export type HotAnswer = { status: number; body: unknown } | { status: number; problem: ProblemBody };

/**
 * An endpoint answered by the hot lane, beside its ordinary Fastify route: same path, method, scope and answers.
 * The lane takes only the everyday request (a cached API key with the scope, a plain query or a JSON body that passes
 * `accepts`) and hands everything else to the Fastify route, which answers it with the usual checks and problems.
 */
export interface HotRoute<B = unknown> {
  method: 'GET' | 'POST';
  url: string;
  scope: string;
  /** POST: a compiled check of the parsed body; a body it refuses is replayed through the Fastify route. */
  accepts?: (body: unknown) => body is B;
  /** The answer, or undefined to hand the request to the Fastify route. Never throws for a client's input. */
  answer(input: HotInput<B>): HotAnswer | Promise<HotAnswer> | undefined;
}

export interface HotLaneOptions {
  /** The caller of a cached API key (`undefined` when the key is not in the cache: the framework authenticates it). */
  cachedPrincipal: (token: string) => Principal | null | undefined;
  bearerToken: (header: string) => string | null;
  requestId: (req: IncomingMessage) => string;
  bodyLimit: number;
  /** Called once per answered request, as Fastify's onResponse hook is for the others (metrics, the log line). */
  answered: (req: IncomingMessage, route: string, status: number, id: string, startedAt: number) => void;
  /** An answer that failed or could not be sent (a bug, a backing service down): answers with a problem, returns its status. */
  failed: (req: IncomingMessage, res: ServerResponse, id: string, err: unknown) => number;
}

/** A POST body the lane read but would not answer: the Fastify route parses it from here (see `replayBody`). */
const BUFFERED = Symbol('qalqan.hotLane.body');
type Buffered = IncomingMessage & { [BUFFERED]?: Buffer };

/** preParsing hook of a hot POST route: a body the lane already read is read again from memory. */
export const replayBody: preParsingHookHandler = (request, _reply, payload, done) => {
  const buffered = (request.raw as Buffered)[BUFFERED];
  if (buffered === undefined) return done(null, payload);
  const stream = new PassThrough();
  stream.end(buffered);
  done(null, stream);
};

/** Plain `name=value` pairs; null when anything is encoded, repeated or empty-named (the framework parses those). */
function plainQuery(search: string): Map<string, string> | null {
  const query = new Map<string, string>();
  if (search === '') return query;
  for (const pair of search.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    if (name === '' || query.has(name) || pair.includes('%') || pair.includes('+')) return null;
    query.set(name, eq === -1 ? '' : pair.slice(eq + 1));
  }
  return query;
}

function isJson(contentType: string | undefined): boolean {
  return contentType === 'application/json' || (contentType !== undefined && contentType.toLowerCase().startsWith('application/json;'));
}

export interface HotLane {
  add<B>(route: HotRoute<B>): void;
  /** Answers the request and returns true, or returns false without touching it. */
  take(req: IncomingMessage, res: ServerResponse, handOver: (req: IncomingMessage, res: ServerResponse) => void): boolean;
}

/**
 * The hot lane: the few endpoints that network elements call for every call or attach (call screening, the EIR)
 * are answered straight from `node:http`, before Fastify's routing, hooks and reply machinery, which cost as much as
 * the answer itself. It keeps what every route promises: the API key and scope check, the request id, the metrics
 * and log line, the same bodies and problems (anything unusual is answered by the Fastify route).
 */
export function createHotLane(options: HotLaneOptions): HotLane {
  const routes = { GET: new Map<string, HotRoute>(), POST: new Map<string, HotRoute>() };

  function send(res: ServerResponse, id: string, answer: HotAnswer): void {
    const problem = 'problem' in answer;
    const payload = JSON.stringify(problem ? { ...answer.problem, requestId: id } : answer.body);
    res.writeHead(answer.status, {
      'x-request-id': id,
      'content-type': problem ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
    });
    res.end(payload);
  }

  /** Sends the answer, or a problem when the answer failed or cannot be sent; either way counted and logged once. */
  function respond(req: IncomingMessage, res: ServerResponse, route: HotRoute, id: string, startedAt: number, answer: HotAnswer | Promise<HotAnswer>): void {
    if (answer instanceof Promise) {
      answer.then(
        (a) => respond(req, res, route, id, startedAt, a),
        (err: unknown) => options.answered(req, route.url, options.failed(req, res, id, err), id, startedAt),
      );
      return;
    }
    let status = answer.status;
    try {
      send(res, id, answer);
    } catch (err) {
      status = options.failed(req, res, id, err);
    }
    options.answered(req, route.url, status, id, startedAt);
  }

  function answerWith(req: IncomingMessage, res: ServerResponse, route: HotRoute, input: HotInput<unknown>, startedAt: number): boolean {
    let answer: HotAnswer | Promise<HotAnswer> | undefined;
    try {
      answer = route.answer(input);
    } catch (err) {
      answer = Promise.reject(err);
    }
    if (answer === undefined) return false;
    respond(req, res, route, input.id, startedAt, answer);
    return true;
  }

  /** Reads a body of `length` bytes (the parser enforces Content-Length); a client that goes away leaves nothing behind. */
  function readBody(req: IncomingMessage, res: ServerResponse, done: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  }

  function replay(req: IncomingMessage, res: ServerResponse, body: Buffer, handOver: (req: IncomingMessage, res: ServerResponse) => void): void {
    (req as Buffered)[BUFFERED] = body;
    handOver(req, res);
  }

  return {
    add(route) {
      routes[route.method].set(route.url, route as HotRoute);
    },

    take(req, res, handOver) {
      const method = req.method;
      if (method !== 'GET' && method !== 'POST') return false;
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const route = routes[method].get(q === -1 ? url : url.slice(0, q));
      if (route === undefined) return false;
      const header = req.headers.authorization;
      const token = header === undefined ? null : options.bearerToken(header);
      const principal = token === null ? undefined : options.cachedPrincipal(token);
      if (!principal || !hasScope(principal.scopes, route.scope)) return false;
      const startedAt = performance.now();
      if (method === 'GET') {
        const query = plainQuery(q === -1 ? '' : url.slice(q + 1));
        if (query === null) return false;
        return answerWith(req, res, route, { id: options.requestId(req), principal, query, body: undefined }, startedAt);
      }
      const length = Number(req.headers['content-length']);
      if (q !== -1 || !isJson(req.headers['content-type']) || req.headers['transfer-encoding'] !== undefined) return false;
      if (!Number.isInteger(length) || length <= 0 || length > options.bodyLimit) return false;
      readBody(req, res, (raw) => {
        const text = raw.toString('utf8');
        let body: unknown;
        try {
          // Prototype keys are the framework's to refuse (secure-json-parse), so such a body is replayed there.
          body = text.includes('__proto__') || text.includes('constructor') ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (body === undefined || (route.accepts && !route.accepts(body))) return replay(req, res, raw, handOver);
        const input = { id: options.requestId(req), principal, query: new Map<string, string>(), body };
        if (!answerWith(req, res, route, input, startedAt)) replay(req, res, raw, handOver);
      });
      return true;
    },
  };
}
