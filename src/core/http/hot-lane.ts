import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { FastifyReply, preParsingHookHandler } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import { rawProblem, sendProblemBody } from './errors.js';
import type { ProblemBody } from './problem.js';

/** What a hot answer is given: the request id, the admitted caller, the query (GET) or the checked body (POST). */
export interface HotInput<B> {
  id: string;
  principal: Principal;
  /** GET: the query parameters (plain ones only: anything encoded goes through Fastify). Empty for a POST. */
  query: ReadonlyMap<string, string>;
  body: B;
}

/** A 2xx body, or a problem (sent as `application/problem+json` with the request id, like every other problem). */
export type HotAnswer = { status: number; body: unknown } | { status: number; problem: ProblemBody };

/**
 * A route's `config.hot`: its everyday request is answered by the hot lane, with the route's own method, path and
 * scope. The answer must be the one the route's handler gives (the tests ask both).
 */
export interface HotHandler<B = unknown> {
  /** POST: a compiled check of the parsed body; a body it refuses is replayed through the Fastify route. */
  accepts?: (body: unknown) => body is B;
  answer(input: HotInput<B>): HotAnswer | Promise<HotAnswer>;
}

interface HotRoute {
  method: 'GET' | 'POST';
  url: string;
  scope: string | undefined;
  bodyLimit: number;
  handler: HotHandler;
}

export interface HotLaneOptions {
  /** The caller of a cached API key (`undefined` when the key is not in the cache: Fastify authenticates it). */
  cachedPrincipal: (token: string) => Principal | null | undefined;
  bearerToken: (header: string) => string | null;
  requestId: (req: IncomingMessage) => string;
  /** Called once per answered request, as Fastify's onResponse hook is for the others (metrics, the log line). */
  answered: (req: IncomingMessage, route: string, status: number, id: string, startedAt: number) => void;
  /** The problem for an answer that failed or could not be sent (logged there when it is a 5xx). */
  problemFor: (err: unknown, req: IncomingMessage, id: string) => { status: number; headers: Record<string, string>; payload: string };
}

/** A POST body the lane read but would not answer: the Fastify route parses it from here (see `replayBody`). */
const BUFFERED = Symbol('qalqan.hotLane.body');
type Buffered = IncomingMessage & { [BUFFERED]?: Buffer };

/** preParsing hook of every hot POST route (added by `createHttpApp`): a body the lane read is read again from memory. */
export const replayBody: preParsingHookHandler = (request, _reply, payload, done) => {
  const buffered = (request.raw as Buffered)[BUFFERED];
  if (buffered === undefined) return done(null, payload);
  const stream = new PassThrough();
  stream.end(buffered);
  done(null, stream);
};

/** Sends a hot answer from the route's Fastify handler, so both lanes answer from the same function. */
export function sendAnswer(reply: FastifyReply, answer: HotAnswer | Promise<HotAnswer>): Promise<void> | undefined {
  if (answer instanceof Promise) return answer.then((a) => void sendAnswer(reply, a));
  if ('problem' in answer) sendProblemBody(reply, answer.problem);
  else reply.code(answer.status).send(answer.body);
  return undefined;
}

/** Plain `name=value` pairs; null when anything is encoded, repeated or empty-named (Fastify parses those). */
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

/**
 * JSON the lane parses itself: nothing that could name a prototype (`__proto__`, `constructor`, or any `\u` escape,
 * which could spell them) — Fastify's parser refuses those, so such a body is replayed to it.
 */
function plainJson(text: string): unknown {
  if (text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const NO_QUERY: ReadonlyMap<string, string> = new Map();

export interface HotLane {
  add(route: HotRoute): void;
  /**
   * Takes the request and returns true (it answers it, or for a POST reads the body and answers it or replays it
   * to `handOver`), or returns false without touching it.
   */
  take(req: IncomingMessage, res: ServerResponse, handOver: (req: IncomingMessage, res: ServerResponse) => void): boolean;
  /** From now on every request goes through Fastify, which closes keep-alive connections while the server drains. */
  close(): void;
}

/**
 * The hot lane: the few endpoints that network elements call for every call or attach (call screening, the EIR)
 * are answered straight from `node:http`, before Fastify's routing, hooks and reply machinery, which cost as much as
 * the answer itself. It keeps what every route promises: the API key and scope check, the request id, the metrics
 * and log line, the same bodies and problems (anything unusual is answered by the Fastify route).
 */
export function createHotLane(options: HotLaneOptions): HotLane {
  const routes = { GET: new Map<string, HotRoute>(), POST: new Map<string, HotRoute>() };
  let open = true;

  function write(res: ServerResponse, status: number, headers: Record<string, string>, payload: string): void {
    // A request taken before the server began to drain is answered with Connection: close, as Fastify does then.
    if (!open) res.setHeader('connection', 'close');
    res.writeHead(status, headers).end(payload);
  }

  function send(res: ServerResponse, id: string, answer: HotAnswer): void {
    if ('problem' in answer) {
      const p = rawProblem(answer.problem, id);
      return write(res, answer.status, p.headers, p.payload);
    }
    const payload = JSON.stringify(answer.body);
    write(res, answer.status, { 'x-request-id': id, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(payload)) }, payload);
  }

  /** Answers with the problem for `err`, or cuts the connection if even that cannot be sent; returns the status. */
  function fail(req: IncomingMessage, res: ServerResponse, id: string, err: unknown): number {
    try {
      const p = options.problemFor(err, req, id);
      if (res.headersSent) res.destroy();
      else write(res, p.status, p.headers, p.payload);
      return p.status;
    } catch {
      res.destroy();
      return 500;
    }
  }

  /** Sends the answer, or a problem when the answer failed or cannot be sent; either way counted and logged once. */
  function respond(req: IncomingMessage, res: ServerResponse, route: HotRoute, id: string, startedAt: number, answer: HotAnswer | Promise<HotAnswer>): void {
    if (answer instanceof Promise) {
      answer.then(
        (a) => respond(req, res, route, id, startedAt, a),
        (err: unknown) => options.answered(req, route.url, fail(req, res, id, err), id, startedAt),
      );
      return;
    }
    let status = answer.status;
    try {
      send(res, id, answer);
    } catch (err) {
      status = fail(req, res, id, err);
    }
    options.answered(req, route.url, status, id, startedAt);
  }

  function answer(req: IncomingMessage, res: ServerResponse, route: HotRoute, input: HotInput<unknown>, startedAt: number): void {
    let result: HotAnswer | Promise<HotAnswer>;
    try {
      result = route.handler.answer(input);
    } catch (err) {
      result = Promise.reject(err);
    }
    respond(req, res, route, input.id, startedAt, result);
  }

  /** Reads the body (the HTTP parser holds it to Content-Length); a client that goes away leaves nothing behind. */
  function readBody(req: IncomingMessage, res: ServerResponse, done: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  }

  return {
    add(route) {
      routes[route.method].set(route.url, route);
    },

    close() {
      open = false;
    },

    take(req, res, handOver) {
      const method = req.method;
      if (!open || (method !== 'GET' && method !== 'POST')) return false;
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const route = routes[method].get(q === -1 ? url : url.slice(0, q));
      if (route === undefined) return false;
      const header = req.headers.authorization;
      const token = header === undefined ? null : options.bearerToken(header);
      const principal = token === null ? undefined : options.cachedPrincipal(token);
      if (!principal || (route.scope !== undefined && !hasScope(principal.scopes, route.scope))) return false;
      const startedAt = performance.now();
      if (method === 'GET') {
        const query = plainQuery(q === -1 ? '' : url.slice(q + 1));
        if (query === null) return false;
        answer(req, res, route, { id: options.requestId(req), principal, query, body: undefined }, startedAt);
        return true;
      }
      const length = Number(req.headers['content-length']);
      if (q !== -1 || !isJson(req.headers['content-type']) || req.headers['transfer-encoding'] !== undefined) return false;
      if (!Number.isInteger(length) || length <= 0 || length > route.bodyLimit) return false;
      readBody(req, res, (raw) => {
        const body = plainJson(raw.toString('utf8'));
        if (body === undefined || (route.handler.accepts && !route.handler.accepts(body))) {
          (req as Buffered)[BUFFERED] = raw;
          return handOver(req, res);
        }
        answer(req, res, route, { id: options.requestId(req), principal, query: NO_QUERY, body }, startedAt);
      });
      return true;
    },
  };
}
