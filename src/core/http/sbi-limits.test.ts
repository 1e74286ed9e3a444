import { execFile } from 'node:child_process';
import { connect as connect2, constants } from 'node:http2';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { h2, h2Request, h2Session, StreamReset, type H2Answer } from '../../testing/h2.js';
import { createMetrics } from '../metrics.js';
import { createHttpApp, type App } from './app.js';
import type { Http2Limits, HttpLimits } from './limits.js';
import { problems } from './problem.js';
import { createSbiApp, type SbiApp } from './sbi.js';

/** Bad input on the SBI (and an HTTP/2 client on the main API): each refused cleanly, the listener serving on. */

const run = promisify(execFile);
const KEY = 'Bearer qk_sbi_limits_0123456789';
const LIMITS: HttpLimits = { requestTimeoutMs: 1000, headersTimeoutMs: 1000, keepAliveTimeoutMs: 1000, maxConnectionsPerAddress: 0 };
const HTTP2_LIMITS: Http2Limits = { maxConcurrentStreams: 16, maxHeaderListSize: 16 * 1024, maxHeaderListPairs: 128, sessionIdleTimeoutMs: 1500 };
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const ok = { path: '/test/ok', headers: { authorization: KEY } };

const metrics = createMetrics();
let sbi: SbiApp;
let origin: string;
let api: App;
let apiPort: number;

const routes = async (app: App) => {
  app.get('/test/ok', { config: { scope: 'test:sbi' } }, async () => ({ ok: true }));
  app.post('/test/echo', { config: { scope: 'test:sbi' } }, async (request) => request.body);
};
const guard = (request: { headers: Record<string, unknown> }, _scope: string | undefined, done: (err?: Error) => void) =>
  done(request.headers.authorization === KEY ? undefined : problems.unauthorized());

beforeAll(async () => {
  const logger = pino({ level: 'silent' });
  sbi = await createSbiApp({ logger, metrics, guard, tls: null, limits: LIMITS, http2Limits: HTTP2_LIMITS }, [routes]);
  origin = await sbi.listen({ host: '127.0.0.1', port: 0 });
  api = await createHttpApp({ logger, metrics, guard });
  await api.register(routes);
  await api.listen({ host: '127.0.0.1', port: 0 });
  apiPort = (api.server.address() as { port: number }).port;
});
afterAll(async () => {
  await sbi.close();
  await api.close();
});

/** What a raw connection received until the server closed it. */
function exchange(port: number, bytes: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

const closedCount = async (reason: string) =>
  (await metrics.httpConnectionsClosed.get()).values.find((v) => v.labels.listener === 'sbi' && v.labels.reason === reason)?.value ?? 0;

const port = () => Number(new URL(origin).port);

describe('SBI bad input', () => {
  it('answers HTTP/1.1 on the h2c port with a 505 problem and closes; HTTP/2 clients are served', async () => {
    const text = (await exchange(port(), 'GET /test/ok HTTP/1.1\r\nHost: x\r\n\r\n')).toString();
    expect(text).toMatch(/^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
    expect(text).toContain('Content-Type: application/problem+json');
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 505, type: 'https://qalqan.kz/problems/http-version-not-supported' });
    const curl = await run('curl', ['-sS', '--http1.1', '-o', '/dev/null', '-w', '%{http_code}', `${origin}/test/ok`]);
    expect(curl.stdout).toBe('505');
    expect((await h2(origin, ok)).status).toBe(200);
  });

  it('answers an HTTP/2 preface on the main API port with GOAWAY HTTP_1_1_REQUIRED; HTTP/1.1 clients are served', async () => {
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const reply = await exchange(apiPort, Buffer.concat([Buffer.from(PREFACE), settings]));
    // The server's preface (an empty SETTINGS frame), then GOAWAY (type 7) on stream 0: last stream 0, HTTP_1_1_REQUIRED.
    expect(reply.subarray(0, 9)).toEqual(settings);
    expect([...reply.subarray(9, 9 + 17)]).toEqual([0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, constants.NGHTTP2_HTTP_1_1_REQUIRED]);
    const res = await fetch(`http://127.0.0.1:${apiPort}/test/ok`, { headers: { authorization: KEY } });
    expect(res.status).toBe(200);
  });

  it('closes a connection that sends no preface within the headers timeout', async () => {
    const before = await closedCount('headers-timeout');
    const received = await new Promise<Buffer>((resolve) => {
      const socket = connect(port(), '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(received.length).toBe(0);
    expect(await closedCount('headers-timeout')).toBe(before + 1);
    expect((await h2(origin, ok)).status).toBe(200);
  });

  it('survives clients that reset before and right after their preface, and serves on', async () => {
    for (const bytes of ['', PREFACE]) {
      await new Promise<void>((resolve) => {
        const socket = connect(port(), '127.0.0.1', () => {
          if (bytes) socket.write(bytes);
          setTimeout(() => socket.resetAndDestroy(), 20);
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
      });
    }
    const http1 = connect(port(), '127.0.0.1', () => http1.write('GET /test/ok HTTP/1.1\r\nHost: x\r\n\r\n', () => http1.resetAndDestroy()));
    http1.on('error', () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await h2(origin, ok)).status).toBe(200);
  });

  it(`refuses streams beyond SETTINGS_MAX_CONCURRENT_STREAMS (${HTTP2_LIMITS.maxConcurrentStreams}) with REFUSED_STREAM; the connection serves on`, async () => {
    // The client sends its whole burst before the server's SETTINGS arrive, as a flooding client would.
    const session = await h2Session(origin, { peerMaxConcurrentStreams: 1000 });
    try {
      const flood = await Promise.allSettled(Array.from({ length: 60 }, () => h2Request(session, ok)));
      const answered = flood.filter((r): r is PromiseFulfilledResult<H2Answer> => r.status === 'fulfilled');
      const refused = flood.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(answered.length).toBeGreaterThanOrEqual(HTTP2_LIMITS.maxConcurrentStreams);
      expect(answered.every((r) => r.value.status === 200)).toBe(true);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.map((r) => (r.reason as StreamReset).rstCode)).toEqual(refused.map(() => constants.NGHTTP2_REFUSED_STREAM));
      expect((await h2Request(session, ok)).status).toBe(200);
    } finally {
      session.close();
    }
  });

  const big = { 'x-big': 'a'.repeat(20 * 1024) };
  const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-h${i}`, 'v']));

  it('answers 431 to a header list over 16 KiB in the first flight (before the client acknowledged SETTINGS)', async () => {
    // Requested before the session is even connected: sent with the client's preface.
    const session = connect2(origin);
    try {
      const answer = await h2Request(session, { path: '/test/ok', headers: { authorization: KEY, ...big } });
      expect(answer.status).toBe(431);
      expect(JSON.parse(answer.body)).toMatchObject({ status: 431, type: 'https://qalqan.kz/problems/headers-too-large' });
      expect((await h2Request(session, ok)).status).toBe(200);
    } finally {
      session.close();
    }
  });

  it.each([
    ['a header list over 16 KiB', big],
    ['more than 128 header fields', many],
  ])('resets the stream of %s (ENHANCE_YOUR_CALM); the connection serves on', async (_name, headers) => {
    const session = await h2Session(origin);
    try {
      // A round trip, so the client has acknowledged the server's SETTINGS.
      await new Promise((resolve) => session.ping(resolve));
      const refused = await h2Request(session, { path: '/test/ok', headers: { authorization: KEY, ...headers } }).catch((err: unknown) => err);
      expect(refused).toEqual(new StreamReset(constants.NGHTTP2_ENHANCE_YOUR_CALM));
      expect((await h2Request(session, ok)).status).toBe(200);
    } finally {
      session.close();
    }
  });

  it('closes a connection whose header block HPACK cannot take (1 MB field: COMPRESSION_ERROR); others are served', async () => {
    const session = await h2Session(origin, { maxSendHeaderBlockLength: 2 ** 24 });
    const refused = await h2Request(session, { path: '/test/ok', headers: { authorization: KEY, 'x-huge': 'a'.repeat(1 << 20) } }).catch((err: unknown) => err);
    expect(refused).toEqual(new StreamReset(constants.NGHTTP2_COMPRESSION_ERROR));
    session.destroy();
    expect((await h2(origin, ok)).status).toBe(200);
  });

  it('cancels a stream whose body stalls for the request timeout; the connection serves on', async () => {
    const session = await h2Session(origin);
    try {
      const before = await closedCount('request-timeout');
      const stream = session.request({ ':method': 'POST', ':path': '/test/echo', 'content-type': 'application/json', authorization: KEY });
      stream.write('{"n": ');
      const code = await new Promise<number>((resolve) => {
        stream.on('error', () => undefined);
        stream.on('close', () => resolve(stream.rstCode));
      });
      expect(code).toBe(constants.NGHTTP2_CANCEL);
      expect(await closedCount('request-timeout')).toBe(before + 1);
      expect(JSON.parse((await h2Request(session, { method: 'POST', path: '/test/echo', headers: { authorization: KEY }, body: '{"n":1}' })).body)).toEqual({
        n: 1,
      });
    } finally {
      session.close();
    }
  });

  it('sends GOAWAY to a connection idle for the session timeout', async () => {
    const session = await h2Session(origin);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    expect((await h2Request(session, ok)).status).toBe(200);
    expect(await goaway).toBe(constants.NGHTTP2_NO_ERROR);
    expect((await h2(origin, ok)).status).toBe(200);
  });
});
