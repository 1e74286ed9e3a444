import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runH2load } from '../../../bench/h2load.js';
import { createSbiServer } from '../../server.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { h2, h2loadForTests, h2Request, h2Session, type H2Request } from '../../testing/h2.js';
import { imeiOf } from '../../testing/imei.js';
import { systemContext } from '../auth/principal.js';
import type { SbiApp } from './sbi.js';

/**
 * The SBI listener over h2c (HTTP/2 with prior knowledge): the main API's answers for its three routes, with the same
 * auth, and nothing else; called with node:http2, curl and h2load. Without h2load the h2load test skips, except in
 * CI, where this file fails.
 */

const run = promisify(execFile);
const hasH2load = h2loadForTests('src/core/http/sbi.test.ts');

const WHITE = imeiOf('35332811', 1);
const STOLEN = imeiOf('35332811', 4);
const EIR = '/n5g-eir-eic/v1/equipment-status';
const CALL = JSON.stringify({ callingNumber: '+77011234567', calledNumber: '+77021234567', ingress: 'international' });

let t: TestApp;
let sbi: SbiApp;
let origin: string;
let operator: string;
let noScope: string;

beforeAll(async () => {
  t = await startTestApp();
  const admin = (await t.keyWith(['*'])).authorization;
  operator = (await t.keyWith(['devices:check', 'voice:screen'], 'Kcell', 'operator')).authorization;
  noScope = (await t.keyWith(['devices:read'], 'Kcell', 'operator')).authorization;
  await t.database.db.insertInto('devices_tac').values({ tac: '35332811', manufacturer: 'Apple', model_name: 'iPhone 14' }).execute();
  await t.app.inject({
    method: 'POST',
    url: '/api/v1/devices/registrations',
    headers: { authorization: admin },
    payload: { imeis: [WHITE], source: 'importer' },
  });
  await t.app.inject({ method: 'POST', url: '/api/v1/devices/stolen', headers: { authorization: admin }, payload: { imei: STOLEN, caseNumber: 'KUI-7' } });
  await t.relayed();
  await t.services.eir.reload();
  sbi = await createSbiServer(t.services);
  origin = await sbi.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await sbi.close();
  await t.close();
});

/** The answer without its request id, which differs between any two requests. */
const comparable = (status: number, contentType: unknown, body: string) => {
  const { requestId, ...rest } = JSON.parse(body) as Record<string, unknown>;
  return { status, contentType: String(contentType), body: rest, hasRequestId: requestId !== undefined || status === 200 };
};

describe('SBI over h2c', () => {
  it.each<[string, H2Request]>([
    ['white', { path: `${EIR}?pei=imei-${WHITE}` }],
    ['black (stolen)', { path: `${EIR}?pei=imeisv-${STOLEN.slice(0, 14)}01` }],
    ['unknown TAC (404 with its 3GPP cause)', { path: `${EIR}?pei=imei-${imeiOf('99999999', 1)}` }],
    ['a bad PEI (400 with its 3GPP cause)', { path: `${EIR}?pei=imei-12` }],
    ['no PEI (400)', { path: EIR }],
    ['a call to screen', { method: 'POST', path: '/api/v1/voice/screen', body: CALL }],
    ['a batch to screen', { method: 'POST', path: '/api/v1/voice/screen-batch', body: `{"calls":[${CALL},${CALL}]}` }],
    ['a call that breaks the schema (400)', { method: 'POST', path: '/api/v1/voice/screen', body: '{"callingNumber":1}' }],
  ])('answers %s exactly as the main API does', async (_name, request) => {
    const overH2 = await h2(origin, { ...request, headers: { authorization: operator } });
    const overApi = await t.app.inject({
      method: request.method ?? 'GET',
      url: request.path,
      headers: { authorization: operator, ...(request.body ? { 'content-type': 'application/json' } : {}) },
      payload: request.body,
    });
    expect(comparable(overH2.status, overH2.headers['content-type'], overH2.body)).toEqual(
      comparable(overApi.statusCode, overApi.headers['content-type'], overApi.body),
    );
    expect(overH2.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('gives the EIR statuses and the screening verdict over HTTP/2', async () => {
    const session = await h2Session(origin);
    try {
      const headers = { authorization: operator };
      expect(JSON.parse((await h2Request(session, { path: `${EIR}?pei=imei-${WHITE}`, headers })).body)).toEqual({ status: 'WHITELISTED' });
      expect(JSON.parse((await h2Request(session, { path: `${EIR}?pei=imei-${STOLEN}`, headers })).body)).toEqual({ status: 'BLACKLISTED' });
      const screened = await h2Request(session, { method: 'POST', path: '/api/v1/voice/screen', headers, body: CALL });
      expect(JSON.parse(screened.body)).toMatchObject({ verdict: 'block', reasons: expect.arrayContaining(['SPOOFED_KZ_MOBILE_FROM_ABROAD']) });
    } finally {
      session.close();
    }
  });

  it('401 without a key, 401 with a console session (API keys only), 403 without the scope', async () => {
    const noKey = await h2(origin, { path: `${EIR}?pei=imei-${WHITE}` });
    expect(noKey.status).toBe(401);
    expect(noKey.headers['content-type']).toMatch(/^application\/problem\+json/);
    const password = 'correct horse battery staple';
    await t.services.auth.createUser(systemContext('test'), { email: 'sbi-admin@example.kz', role: 'admin', password });
    const { token } = await t.services.auth.login(systemContext('test'), 'sbi-admin@example.kz', password);
    const cookie = `qalqan_session=${token}`;
    expect((await t.app.inject({ method: 'GET', url: `${EIR}?pei=imei-${WHITE}`, headers: { cookie } })).statusCode).toBe(200);
    expect((await h2(origin, { path: `${EIR}?pei=imei-${WHITE}`, headers: { cookie } })).status).toBe(401);
    const screen = await h2(origin, { method: 'POST', path: '/api/v1/voice/screen', headers: { authorization: noScope }, body: CALL });
    expect(screen.status).toBe(403);
    expect(JSON.parse(screen.body)).toMatchObject({ status: 403, detail: expect.stringContaining('voice:screen') });
    expect((await h2(origin, { path: `${EIR}?pei=imei-${WHITE}`, headers: { authorization: noScope } })).status).toBe(403);
  });

  it.each([
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/metrics'],
    ['GET', '/docs'],
    ['GET', '/openapi.json'],
    ['GET', '/api/v1/auth/me'],
    ['GET', '/api/v1/voice/stats'],
    ['GET', '/api/v1/voice/dno'],
    ['PUT', '/api/v1/voice/roaming'],
    ['GET', `/api/v1/devices/check/${WHITE}`],
    ['POST', EIR],
  ])('has no route %s %s (404)', async (method, path) => {
    const answer = await h2(origin, { method: method as 'GET', path, headers: { authorization: operator } });
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 404, title: 'Not found' });
  });

  it('labels the request metrics and the log line with the listener', async () => {
    await h2(origin, { path: `${EIR}?pei=imei-${WHITE}`, headers: { authorization: operator } });
    await t.app.inject({ method: 'GET', url: `${EIR}?pei=imei-${WHITE}`, headers: { authorization: operator } });
    const text = await t.services.metrics.registry.metrics();
    expect(text).toMatch(/http_request_duration_seconds_count\{listener="sbi",method="GET",route="\/n5g-eir-eic\/v1\/equipment-status",status="200"\} \d+/);
    expect(text).toMatch(/http_request_duration_seconds_count\{listener="api",method="GET",route="\/n5g-eir-eic\/v1\/equipment-status",status="200"\} \d+/);
  });

  it('answers curl --http2-prior-knowledge', async () => {
    const { stdout } = await run('curl', [
      '-sS',
      '--http2-prior-knowledge',
      '-H',
      `authorization: ${operator}`,
      '-w',
      '\n%{http_version} %{http_code}',
      `${origin}${EIR}?pei=imei-${WHITE}`,
    ]);
    expect(stdout).toBe('{"status":"WHITELISTED"}\n2 200');
    const screened = await run('curl', [
      '-sS',
      '--http2-prior-knowledge',
      '-H',
      `authorization: ${operator}`,
      '-H',
      'content-type: application/json',
      '--data',
      CALL,
      '-w',
      '\n%{http_version} %{http_code}',
      `${origin}/api/v1/voice/screen`,
    ]);
    expect(screened.stdout).toMatch(/^\{"verdict":"block".*\}\n2 200$/s);
  });

  it.skipIf(!hasH2load)('answers every request of h2load (4 connections × 32 streams)', async () => {
    const result = await runH2load({
      urls: [`${origin}${EIR}?pei=imei-${WHITE}`, `${origin}${EIR}?pei=imei-${STOLEN}`],
      headers: { authorization: operator },
      connections: 4,
      streams: 32,
      requests: 4000,
    });
    expect(result, result.output).toMatchObject({ done: 4000, errored: 0, status: { '2xx': 4000, '4xx': 0, '5xx': 0 } });
    const screened = await runH2load({
      urls: [`${origin}/api/v1/voice/screen`],
      headers: { authorization: operator },
      body: CALL,
      connections: 2,
      streams: 16,
      requests: 1000,
    });
    expect(screened, screened.output).toMatchObject({ done: 1000, errored: 0, status: { '2xx': 1000 } });
  });
});
