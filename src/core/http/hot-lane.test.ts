import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { hasScope } from '../auth/scopes.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { createHttpApp, type App, type RouteGuard } from './app.js';
import { bearerToken } from './auth-hook.js';
import type { HotAnswer, HotHandler, HotInput } from './hot-lane.js';
import { PROBLEM_BASE, problems, type ProblemBody } from './problem.js';

const HOT = '/test/hot';
const SCOPE = 'test:hot';
const BODY_LIMIT = 512 * 1024;
const SECRET = 'secret internal detail at /srv/qalqan/store.ts:42';
const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Keys: GOOD and NO_SCOPE are in the memory cache the lane reads; COLD is valid but only the guard knows it. */
const GOOD = 'qk_good_0123456789';
const COLD = 'qk_cold_0123456789';
const NO_SCOPE = 'qk_noscope_0123456789';
/** A key the cache knows to be refused (cachedPrincipal answers null). */
const REVOKED = 'qk_revoked_0123456789';

const principal = (id: string, scopes: string[]): Principal => ({ kind: 'apikey', id, label: `test key ${id}`, orgId: 'org-test', orgKind: 'operator', scopes });
const KEYS = new Map<string, Principal>([
  [GOOD, principal('good', [SCOPE])],
  [COLD, principal('cold', [SCOPE])],
  [NO_SCOPE, principal('noscope', [])],
]);
const CACHED = new Set([GOOD, NO_SCOPE]);

const cachedPrincipal = (token: string): Principal | null | undefined => (token === REVOKED ? null : CACHED.has(token) ? KEYS.get(token) : undefined);

/** Admits every known key (cached or not), like the real guard: 401 without one, 403 without the scope. */
const guard: RouteGuard = (request, scope, done) => {
  const header = request.headers.authorization;
  const token = header === undefined ? null : bearerToken(header);
  const caller = token === null ? undefined : KEYS.get(token);
  if (caller === undefined) return done(problems.unauthorized());
  if (scope !== undefined && !hasScope(caller.scopes, scope)) return done(problems.forbidden(scope));
  done();
};

const NOT_HERE: ProblemBody = { type: `${PROBLEM_BASE}not-here`, title: 'Not here', status: 404, detail: 'nothing is here', instance: HOT, cause: 'NOT_HERE' };

/** The hot GET answer, chosen by the `mode` query parameter. */
function answerGet({ id, principal: caller, query }: HotInput<unknown>): HotAnswer | Promise<HotAnswer> {
  switch (query.get('mode')) {
    case 'problem':
      return { status: 404, problem: NOT_HERE };
    case 'async':
      return new Promise((resolve) => setTimeout(() => resolve({ status: 200, body: { lane: 'hot', async: true } }), 5));
    case 'throw':
      throw new Error(SECRET);
    case 'reject':
      return Promise.reject(new Error(SECRET));
    case 'unavailable':
      throw problems.unavailable('the backing store is down');
    case 'unsendable':
      return { status: 200, body: { n: 1n } };
    case 'unsendable-async':
      return Promise.resolve({ status: 200, body: { n: 1n } });
    default:
      return { status: 200, body: { lane: 'hot', id, caller: caller.id, query: Object.fromEntries(query) } };
  }
}

interface Counted {
  n: number;
}
const isCounted = (body: unknown): body is Counted => typeof body === 'object' && body !== null && typeof (body as { n?: unknown }).n === 'number';

function addRoutes(app: App): void {
  app.get(HOT, { config: { scope: SCOPE, hot: { answer: answerGet } } }, async (request) => ({ lane: 'fastify', query: request.query }));
  const hot: HotHandler<Counted> = { accepts: isCounted, answer: ({ body }) => ({ status: 200, body: { lane: 'hot', n: body.n } }) };
  app.post(HOT, {
    config: { scope: SCOPE, hot },
    schema: { body: Type.Object({ n: Type.Union([Type.Number(), Type.String()]), pad: Type.Optional(Type.String()) }) },
  }, async (request) => ({ lane: 'fastify', body: request.body }));
}

let app: App;
let metrics: Metrics;
let base: string;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write: (chunk, _enc, cb) => {
      for (const line of String(chunk).trim().split('\n')) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  metrics = createMetrics();
  app = await createHttpApp({ logger: pino({ level: 'info' }, sink), metrics, bodyLimit: BODY_LIMIT, guard, cachedPrincipal, bearerToken });
  addRoutes(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app.close());

interface Call {
  method?: 'GET' | 'POST';
  /** The bearer token; null sends no Authorization header. */
  key?: string | null;
  headers?: Record<string, string>;
  /** Sent as `application/json`. */
  json?: unknown;
  body?: RequestInit['body'];
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

async function call(path: string, { method = 'GET', key = GOOD, headers = {}, json, body }: Call = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: json === undefined ? body : JSON.stringify(json),
    ...(body instanceof ReadableStream ? { duplex: 'half' as const } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) as Record<string, unknown> };
}

const post = (json: unknown, options: Call = {}) => call(HOT, { method: 'POST', json, ...options });

/** A POST of a body as is. */
const raw = (body: string, contentType = 'application/json'): Call => ({ method: 'POST', headers: { 'content-type': contentType }, body });

/** A JSON body sent in two chunks, without Content-Length. */
const chunked = () =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"n":'));
      controller.enqueue(new TextEncoder().encode('3}'));
      controller.close();
    },
  });

function expectJson(res: Answer, lane: 'hot' | 'fastify'): void {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(res.headers.get('x-request-id')).toMatch(REQUEST_ID);
  expect(res.body.lane).toBe(lane);
}

function expectProblem(res: Answer, status: number, slug?: string): Record<string, unknown> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, title: expect.any(String), requestId: res.headers.get('x-request-id') });
  if (slug !== undefined) expect(res.body.type).toBe(`${PROBLEM_BASE}${slug}`);
  expect(res.body.lane).toBeUndefined();
  return res.body;
}

/** `http_request_duration_seconds_count` of one series, from the registry's exposition text. */
async function requestCount(method: string, status: number): Promise<number> {
  const series = `http_request_duration_seconds_count{method="${method}",route="${HOT}",status="${status}"} `;
  const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(series));
  return line === undefined ? 0 : Number(line.slice(series.length));
}

describe('GET on the hot lane', () => {
  it('answers a cached key with the scope and a plain query', async () => {
    const res = await call(`${HOT}?a=1&b=two&flag`);
    expectJson(res, 'hot');
    expect(res.body).toEqual({ lane: 'hot', id: res.headers.get('x-request-id'), caller: 'good', query: { a: '1', b: 'two', flag: '' } });
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(res.text)));
  });

  it('echoes a valid client request id and replaces an invalid one', async () => {
    const given = await call(HOT, { headers: { 'x-request-id': 'trace-0001-abc' } });
    expectJson(given, 'hot');
    expect(given.headers.get('x-request-id')).toBe('trace-0001-abc');
    expect(given.body.id).toBe('trace-0001-abc');
    const invalid = await call(HOT, { headers: { 'x-request-id': 'short' } });
    expectJson(invalid, 'hot');
    expect(invalid.headers.get('x-request-id')).not.toBe('short');
  });

  it.each([
    ['the key is not in the cache', `${HOT}?a=1`, COLD, { a: '1' }],
    ['a parameter is percent-encoded', `${HOT}?a=%41`, GOOD, { a: 'A' }],
    ['a parameter has a plus', `${HOT}?a=b+c`, GOOD, { a: 'b c' }],
    ['a parameter is repeated', `${HOT}?a=1&a=2`, GOOD, { a: ['1', '2'] }],
    ['a parameter has no name', `${HOT}?=1&a=2`, GOOD, { a: '2' }],
  ])('hands the request to the Fastify route when %s', async (_case, path, key, query) => {
    const res = await call(path, { key });
    expectJson(res, 'fastify');
    expect(res.body.query).toMatchObject(query);
  });

  it.each([
    ['no credential', {}, 401, 'unauthorized'],
    ['a key the cache refuses', { key: REVOKED }, 401, 'unauthorized'],
    ['an unknown key', { key: 'qk_unknown_0123456789' }, 401, 'unauthorized'],
    ['a credential that is not a bearer token', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }, 401, 'unauthorized'],
    ['a key without the scope', { key: NO_SCOPE }, 403, 'forbidden'],
  ] as const)('leaves %s to the Fastify route', async (_case, options, status, slug) => {
    const res = await call(HOT, { key: null, ...options });
    const body = expectProblem(res, status, slug);
    if (status === 403) expect(body.requiredScope).toBe(SCOPE);
    else expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });
});

describe('POST on the hot lane', () => {
  it('answers a JSON body that passes accepts', async () => {
    const res = await post({ n: 7 });
    expectJson(res, 'hot');
    expect(res.body).toEqual({ lane: 'hot', n: 7 });
    expectJson(await post({ n: 8 }, { headers: { 'content-type': 'application/json; charset=utf-8' } }), 'hot');
  });

  it.each([
    ['a body accepts refuses, in full', { n: 'seven', pad: 'x'.repeat(300_000) }, HOT, {}],
    ['a request with a query string', { n: 1 }, `${HOT}?x=1`, {}],
    ['a key not in the cache', { n: 1 }, HOT, { key: COLD }],
  ])('replays %s to the Fastify route', async (_case, json, path, options: Call) => {
    const res = await call(path, { method: 'POST', json, ...options });
    expectJson(res, 'fastify');
    expect(res.body.body).toEqual(json);
  });

  it('hands a chunked body (no Content-Length) to the Fastify route', async () => {
    const res = await call(HOT, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunked() });
    expectJson(res, 'fastify');
    expect(res.body.body).toEqual({ n: 3 });
  });

  it.each([
    ['a body the route schema refuses', raw('{"m":1}'), 400, 'validation-error'],
    ['invalid JSON', raw('{"n": '), 400, 'bad-request'],
    ['a __proto__ key', raw('{"n":1,"__proto__":{"admin":true}}'), 400, 'bad-request'],
    ['a constructor.prototype key', raw('{"n":1,"constructor":{"prototype":{"admin":true}}}'), 400, 'bad-request'],
    ['an escaped __proto__ key', raw('{"n":1,"\\u005f_proto__":{"admin":true}}'), 400, 'bad-request'],
    ['an empty body', raw(''), 400, 'bad-request'],
    ['a text/plain body', raw('{"n":1}', 'text/plain'), 415, 'unsupported-media-type'],
    ['a body over the limit', raw(JSON.stringify({ n: 1, pad: 'x'.repeat(BODY_LIMIT) })), 413, 'payload-too-large'],
    ['a key without the scope', { ...raw('{"n":1}'), key: NO_SCOPE }, 403, 'forbidden'],
  ])('leaves %s to the Fastify route', async (_case, options, status, slug) => {
    expectProblem(await call(HOT, options), status, slug);
  });

  it('serves a hot request after a replayed one on the same connection', async () => {
    expectJson(await post({ n: 'seven' }), 'fastify');
    expectJson(await post({ n: 9 }), 'hot');
  });
});

describe('hot answers', () => {
  it('sends a problem answer as application/problem+json with the request id', async () => {
    const res = await call(`${HOT}?mode=problem`, { headers: { 'x-request-id': 'trace-0002-abc' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBe('trace-0002-abc');
    expect(res.body).toEqual({ ...NOT_HERE, requestId: 'trace-0002-abc' });
  });

  it('waits for an answer given as a promise', async () => {
    const res = await call(`${HOT}?mode=async`);
    expectJson(res, 'hot');
    expect(res.body.async).toBe(true);
  });

  it.each(['throw', 'reject', 'unsendable', 'unsendable-async'])('answers 500 when the answer fails or cannot be sent (%s), says nothing internal, and serves on', async (mode) => {
    const res = await call(`${HOT}?mode=${mode}`);
    const body = expectProblem(res, 500, 'internal');
    const id = res.headers.get('x-request-id');
    expect(body.instance).toBe(HOT);
    expect(body.detail).toContain(id);
    expect(res.text).not.toContain('secret internal detail');
    expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'request failed', reqId: id, status: 500 }));
    expectJson(await call(HOT), 'hot');
  });

  it('answers a thrown problem with its status and headers', async () => {
    const res = await call(`${HOT}?mode=unavailable`);
    expect(expectProblem(res, 503, 'unavailable').detail).toBe('the backing store is down');
    expect(res.headers.get('retry-after')).toBe('5');
  });
});

describe('metrics and the request log', () => {
  it('counts hot answers in the request histogram under the route, beside the Fastify route', async () => {
    const before = { get: await requestCount('GET', 200), problem: await requestCount('GET', 404), post: await requestCount('POST', 200) };
    const hot = await call(HOT);
    expectJson(hot, 'hot');
    expect((await call(`${HOT}?mode=problem`)).status).toBe(404);
    expectJson(await post({ n: 1 }), 'hot');
    expectJson(await call(HOT, { key: COLD }), 'fastify');
    await expect.poll(() => requestCount('GET', 200)).toBe(before.get + 2);
    expect(await requestCount('GET', 404)).toBe(before.problem + 1);
    expect(await requestCount('POST', 200)).toBe(before.post + 1);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'request', reqId: hot.headers.get('x-request-id'), method: 'GET', route: HOT, status: 200 }));
  });

  it('counts a failed hot answer as a 500 in the request histogram, with its request log line', async () => {
    const before = await requestCount('GET', 500);
    const res = await call(`${HOT}?mode=throw`);
    expect(res.status).toBe(500);
    await expect.poll(() => requestCount('GET', 500), { timeout: 200 }).toBe(before + 1);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'request', reqId: res.headers.get('x-request-id'), route: HOT, status: 500 }));
  });
});

describe('draining', () => {
  it('answers a request taken before close with Connection: close, and lets the server close', async () => {
    const draining = await createHttpApp({ logger: pino({ level: 'silent' }), metrics: createMetrics(), guard, cachedPrincipal, bearerToken });
    addRoutes(draining);
    await draining.listen({ host: '127.0.0.1', port: 0 });
    const socket = connect((draining.server.address() as AddressInfo).port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const ended = new Promise((resolve) => socket.on('close', resolve));
    const body = '{"n":5}';
    socket.write(`POST ${HOT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${GOOD}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    await expect.poll(() => socket.bytesWritten).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 50));
    const closed = draining.close();
    socket.write(body);
    await closed;
    await ended;
    const answer = Buffer.concat(received).toString();
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('"lane":"hot"');
  });
});

describe('behind a trusted proxy', () => {
  it('takes nothing: Fastify works out the client address', async () => {
    const proxied = await createHttpApp({ logger: pino({ level: 'silent' }), metrics: createMetrics(), guard, cachedPrincipal, bearerToken, trustProxy: true });
    addRoutes(proxied);
    await proxied.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${(proxied.server.address() as AddressInfo).port}${HOT}`, { headers: { authorization: `Bearer ${GOOD}` } });
      expect(await res.json()).toMatchObject({ lane: 'fastify' });
    } finally {
      await proxied.close();
    }
  });
});
