import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { createHttpApp } from './app.js';
import { createMetrics } from '../metrics.js';

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp({
    routes: (app) => {
      app.get('/api/v1/test/boom', { config: { scope: 'admin:orgs' } }, async () => {
        throw new Error('secret internal detail at /srv/qalqan/db.ts:42');
      });
      app.get('/api/v1/test/public', { config: { public: true, rateLimit: { max: 3, timeWindow: '1 minute' } } }, async () => ({ ok: true }));
    },
  });
  admin = (await t.keyWith(['admin:orgs', 'metrics:read'])).authorization;
});
afterAll(() => t.close());

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; json(): Record<string, unknown> }, status: number) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toContain('application/problem+json');
  const body = res.json();
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^https:\/\//), title: expect.any(String) });
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/);
  return body;
}

describe('problem details', () => {
  it('404 for an unknown route, without credentials', async () => {
    const body = expectProblem(await t.app.inject({ method: 'GET', url: '/no/such/route?x=1' }), 404);
    expect(body.detail).toBe('no route GET /no/such/route');
  });

  it('400 listing each bad field', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/orgs', headers: { authorization: admin }, payload: { name: '', kind: 'pirate', extra: 1 } });
    const body = expectProblem(res, 400);
    const fields = (body.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.kind']));
  });

  it('400 for malformed JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: { authorization: admin, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expectProblem(res, 400);
  });

  it('413 for an oversize body', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: { authorization: admin },
      payload: { name: 'x'.repeat(2 * 1024 * 1024), kind: 'bank' },
    });
    expectProblem(res, 413);
  });

  it('415 for a content type the route does not take', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: { authorization: admin, 'content-type': 'application/xml' },
      payload: '<org/>',
    });
    expectProblem(res, 415);
  });

  it('415 for text/plain too (no guessing)', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/orgs', headers: { authorization: admin, 'content-type': 'text/plain' }, payload: 'name=x' });
    expectProblem(res, 415);
  });

  it('400 for a malformed URL, 414 for an over-long path parameter, 400 for a NUL byte the database cannot store', async () => {
    expectProblem(await t.app.inject({ method: 'GET', url: '/api/v1/orgs/%E0%A4%A/api-keys', headers: { authorization: admin } }), 400);
    expectProblem(await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${'x'.repeat(300)}/api-keys`, headers: { authorization: admin } }), 414);
    expectProblem(
      await t.app.inject({ method: 'POST', url: '/api/v1/orgs', headers: { authorization: admin }, payload: { name: 'a\u0000b', kind: 'bank' } }),
      400,
    );
  });

  it('431 problem details for oversize headers, on a real socket', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1.1 431 /);
    expect(raw).toContain('application/problem+json');
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 431 });
  });

  it('429 with Retry-After on a rate-limited public route', async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(await t.app.inject({ method: 'GET', url: '/api/v1/test/public', remoteAddress: '10.7.7.7' }));
    expect(codes.slice(0, 3).map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expectProblem(codes[3]!, 429);
    expect(Number(codes[3]!.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('500 carries the request id and nothing internal', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/test/boom', headers: { authorization: admin, 'x-request-id': 'trace-0001-abc' } });
    const body = expectProblem(res, 500);
    expect(body.requestId).toBe('trace-0001-abc');
    expect(res.headers['x-request-id']).toBe('trace-0001-abc');
    expect(res.body).not.toContain('secret internal detail');
  });

  it('every problem carries x-request-id, also without a route (404, and errors parsing the body of an unknown path)', async () => {
    for (const [payload, type, status] of [
      [undefined, undefined, 404],
      ['{', 'application/json', 400],
      ['x', 'text/plain', 404],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/nowhere', payload, headers: type ? { 'content-type': type } : {} });
      expect(res.statusCode).toBe(status);
      expect(res.headers['x-request-id']).toBe(res.json().requestId);
    }
  });
});

describe('every route is guarded', () => {
  it('each operation in the API document needs a credential (401 without one), unless it says security: []', async () => {
    const spec = t.app.swagger() as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const open: string[] = [];
    let guarded = 0;
    for (const [path, operations] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        expect(operation.security, name).toBeDefined();
        if (operation.security!.length === 0) {
          open.push(name);
          continue;
        }
        const res = await t.app.inject({ method: method.toUpperCase() as 'GET', url: path.replace(/\{[^}]+\}/g, 'x') });
        expect(res.statusCode, name).toBe(401);
        guarded++;
      }
    }
    expect(guarded).toBeGreaterThan(40);
    expect(open).toEqual(expect.arrayContaining(['GET /healthz', 'GET /readyz', 'POST /api/v1/auth/login']));
  });
});

describe('operations endpoints', () => {
  it('/healthz and /readyz answer without credentials', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toEqual({ database: 'ok', migrations: 'ok' });
  });

  it('/readyz is 503 when the database is gone', async () => {
    const ping = t.database.ping;
    t.database.ping = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    };
    try {
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().checks.database).toBe('unreachable');
    } finally {
      t.database.ping = ping;
    }
  });

  it('/metrics needs metrics:read and exposes the request histogram by route and status', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    await t.app.inject({ method: 'GET', url: '/healthz' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: admin } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/healthz"[^}]*status="200"/);
    expect(res.body).toContain('process_cpu_user_seconds_total');
  });

  it('/openapi.json is OpenAPI 3.1 with every route, its scope and problem responses; /docs serves the UI', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/v1/audit', '/api/v1/orgs', '/api/v1/auth/login', '/healthz', '/readyz', '/metrics']));
    expect(spec.paths['/api/v1/audit'].get.security).toEqual([{ apiKey: ['audit:read'] }, { session: ['audit:read'] }]);
    expect(spec.paths['/api/v1/audit'].get.responses['403']).toBeDefined();
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });
});

describe('request log', () => {
  it('writes one JSON line per request with identifiers masked', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(...String(chunk).trim().split('\n')), cb()) });
    const app = await createHttpApp({ logger: pino({ level: 'info' }, sink), metrics: createMetrics() });
    app.get('/lookup/:id', { config: { public: true } }, async () => ({}));
    await app.inject({ method: 'GET', url: '/lookup/356938035643809?msisdn=77011234567' });
    await app.close();
    const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({ listener: 'api', method: 'GET', status: 200, route: '/lookup/:id' });
    expect(requestLines[0].url).not.toContain('356938035643809');
    expect(requestLines[0].url).not.toContain('77011234567');
  });
});
