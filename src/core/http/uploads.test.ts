import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { DEFAULT_HTTP_LIMITS } from './limits.js';
import { UPLOAD_TYPES } from './uploads.js';

const REQUEST_TIMEOUT_MS = 1000;

/** Every streamed upload route (`bodyLimit: UPLOAD_LIMIT`). */
const UPLOADS = ['/api/v1/devices/tac-imports', '/api/v1/devices/registrations/import', '/api/v1/devices/observations', '/api/v1/voice/ported'];

let t: TestApp;
let authorization: string;
beforeAll(async () => {
  t = await startTestApp({ limits: { ...DEFAULT_HTTP_LIMITS, requestTimeoutMs: REQUEST_TIMEOUT_MS } });
  authorization = (await t.keyWith(['*'])).authorization;
});
afterAll(() => t.close());

describe.each(UPLOADS)('POST %s refuses what is not a file, without reading it', (url) => {
  it('400 for no body', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: { authorization } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().detail).toMatch(/^the request has no body: send the file as the request body, as text\/csv/);
  });

  it('400 for an empty CSV body', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: { authorization, 'content-type': 'text/csv' }, payload: '' });
    expect(res.statusCode).toBe(400);
  });

  it.each([
    ['a JSON body', 'application/json', '{"rows": []}'],
    ['a form', 'application/x-www-form-urlencoded', 'a=1'],
  ])('415 naming the accepted types for %s, and closes the connection', async (_name, type, payload) => {
    const res = await t.app.inject({ method: 'POST', url, headers: { authorization, 'content-type': type }, payload });
    expect(res.statusCode).toBe(415);
    expect(res.headers.connection).toBe('close');
    expect(res.json()).toMatchObject({ type: 'https://qalqan.kz/problems/unsupported-media-type', accepted: UPLOAD_TYPES });
  });

  it('415 for a body without a content type', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: { authorization, 'content-length': '3' }, payload: 'a,b' });
    expect(res.statusCode).toBe(415);
  });

  it('401 before any of this without a credential', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(res.statusCode).toBe(401);
  });
});

describe('a streamed upload over a real socket', () => {
  const rows = ['tac|manufacturer|model_name', '35209900|Acme|One', '35210000|Acme|Two', '35210100|Acme|Three', '35210200|Acme|Four'].map((r) => r + '\n');
  const size = rows.reduce((n, r) => n + Buffer.byteLength(r), 0);

  /** Sends the TAC database's headers and then `parts` of the body, `gapMs` apart; resolves with the answer. */
  async function upload(parts: string[], gapMs: number): Promise<{ text: string; ms: number }> {
    await t.overHttp({ method: 'GET', url: '/healthz' }); // the test app listens from its first request over HTTP
    const socket = connect((t.app.server.address() as AddressInfo).port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    const started = performance.now();
    const ended = new Promise<{ text: string; ms: number }>((resolve) => socket.once('close', () => resolve({ text, ms: performance.now() - started })));
    socket.write(
      `POST /api/v1/devices/tac-imports HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: text/csv\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
    );
    for (const part of parts) {
      socket.write(part);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    return ended;
  }

  it('takes longer than the request timeout while the file keeps coming', async () => {
    const { text, ms } = await upload(rows, 600);
    expect(ms).toBeGreaterThan(2 * REQUEST_TIMEOUT_MS);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('"accepted":4');
  });

  it('is cut (408) when the file stops coming, and nothing of it is kept', async () => {
    const { text, ms } = await upload(['tac|manufacturer|model_name\n35299900|Stalled|One\n'], 0);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1500);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/35299900', headers: { authorization } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/35209900', headers: { authorization } })).statusCode).toBe(200);
  });
});
