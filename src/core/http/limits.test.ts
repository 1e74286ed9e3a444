import { connect, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics.js';
import { createHttpApp, type App } from './app.js';
import { markStreamedUpload, type ClosedReason, type HttpLimits } from './limits.js';
import { problems } from './problem.js';

const KEY = 'qk_limits_0123456789';
const LIMITS: HttpLimits = { requestTimeoutMs: 1000, headersTimeoutMs: 1000, keepAliveTimeoutMs: 1000, maxConnectionsPerAddress: 4 };

async function startApp(
  limits: HttpLimits,
  trustProxy?: boolean | string,
): Promise<{ app: App; port: number; closed: (reason: ClosedReason) => Promise<number> }> {
  const metrics = createMetrics();
  const app = await createHttpApp({
    logger: pino({ level: 'silent' }),
    metrics,
    limits,
    trustProxy,
    guard: (request, _scope, done) => done(request.headers.authorization === `Bearer ${KEY}` ? undefined : problems.unauthorized()),
  });
  const body = Type.Object({ n: Type.Number(), pad: Type.Optional(Type.String()) });
  app.post('/test/plain', { config: { scope: 'test:limits' }, schema: { body } }, async (request) => ({ n: request.body.n }));
  app.register(async (scoped) => {
    scoped.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
    scoped.post(
      '/test/upload',
      {
        config: { scope: 'test:limits' },
        onRequest: (request, _reply, done) => {
          markStreamedUpload(request.raw);
          done();
        },
      },
      async (request) => {
        let bytes = 0;
        for await (const chunk of request.body as Readable) bytes += (chunk as Buffer).length;
        return { bytes };
      },
    );
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const closed = async (reason: ClosedReason) => (await metrics.httpConnectionsClosed.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { app, port: (app.server.address() as AddressInfo).port, closed };
}

/** Opens a raw connection; `ended` resolves with what the server sent and how long the connection lived. */
async function open(port: number, localAddress = '127.0.0.1'): Promise<{ socket: Socket; ended: Promise<{ text: string; ms: number }> }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const started = performance.now();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const ended = new Promise<{ text: string; ms: number }>((resolve) => {
    socket.on('error', () => undefined);
    socket.once('close', () => resolve({ text, ms: performance.now() - started }));
  });
  return { socket, ended };
}

const head = (path: string, length: number, type = 'application/json', auth = true) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n${auth ? `Authorization: Bearer ${KEY}\r\n` : ''}\r\n`;

let t: Awaited<ReturnType<typeof startApp>>;
beforeAll(async () => {
  t = await startApp(LIMITS);
});
afterAll(() => t.app.close());

describe('request timeouts (real sockets)', () => {
  it.each([
    ['a route answered by Fastify', '/test/plain', true],
    ['a request refused for its credentials (401 sent, body still owed)', '/test/plain', false],
  ])('cuts a stalled body on %s within the request timeout', async (_name, path, auth) => {
    const { socket, ended } = await open(t.port);
    socket.write(head(path, 100, 'application/json', auth) + '{"n": 1, "pad": "');
    const before = await t.closed('request-timeout');
    const { text, ms } = await ended;
    expect(await t.closed('request-timeout')).toBe(before + 1);
    expect(ms).toBeGreaterThanOrEqual(LIMITS.requestTimeoutMs - 50);
    expect(ms).toBeLessThan(LIMITS.requestTimeoutMs + 1500);
    if (auth) {
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(text).toContain('"type":"https://qalqan.kz/problems/request-timeout"');
    } else expect(text).toMatch(/^HTTP\/1\.1 401 /);
  });

  it.each([
    ['whose headers stall', 'POST /test/plain HTTP/1.1\r\nHost: x\r\n'],
    ['that sends nothing', ''],
  ])('cuts a connection %s within the headers timeout', async (_name, sent) => {
    const { socket, ended } = await open(t.port);
    socket.write(sent);
    const before = await t.closed('headers-timeout');
    const { text, ms } = await ended;
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('"type":"https://qalqan.kz/problems/request-timeout"');
    expect(await t.closed('headers-timeout')).toBe(before + 1);
    expect(ms).toBeLessThan(LIMITS.headersTimeoutMs + 1500);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const { socket, ended } = await open(t.port);
    socket.write(head('/test/plain', 8) + '{"n": 1}');
    const { text, ms } = await ended;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    // Node keeps the socket one second longer than the timeout it advertises (Keep-Alive: timeout=…).
    expect(ms).toBeLessThan(LIMITS.keepAliveTimeoutMs + 1000 + 500);
  });

  it('lets a streamed upload take longer than the request timeout while its body keeps coming, and cuts it when it stalls', async () => {
    const { socket, ended } = await open(t.port);
    socket.write(head('/test/upload', 40, 'text/csv'));
    for (let i = 0; i < 6; i++) {
      socket.write('row\n');
      await new Promise((r) => setTimeout(r, 400));
    }
    socket.write('0123456789abcdef');
    const { text, ms } = await ended;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toContain('{"bytes":40}');
    expect(ms).toBeGreaterThan(LIMITS.requestTimeoutMs * 2);

    const stalled = await open(t.port);
    stalled.socket.write(head('/test/upload', 40, 'text/csv') + 'row\n');
    const cut = await stalled.ended;
    expect(cut.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(cut.ms).toBeLessThan(LIMITS.requestTimeoutMs + 1500);
  });
});

describe('connections per client address', () => {
  it('closes a connection over the cap at once, and takes one again when a slot is free', async () => {
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnectionsPerAddress }, () => open(t.port)));
    const refused = await open(t.port);
    const { text, ms } = await refused.ended;
    expect(text).toBe('');
    expect(ms).toBeLessThan(200);

    held[0]!.socket.destroy();
    await held[0]!.ended;
    const again = await open(t.port);
    again.socket.write(head('/test/plain', 8) + '{"n": 7}');
    await new Promise((r) => again.socket.once('data', r));
    for (const c of [...held, again]) c.socket.destroy();
  });

  it('1,100 stalled requests without credentials from one address hold 256 connections, and another client is served', async () => {
    const attacked = await startApp({ ...LIMITS, requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, maxConnectionsPerAddress: 256 });
    try {
      const attack = await Promise.all(Array.from({ length: 1100 }, () => open(attacked.port, '127.0.0.2')));
      let closed = 0;
      for (const c of attack) {
        void c.ended.then(() => closed++);
        if (!c.socket.destroyed) c.socket.write(head('/test/plain', 1000, 'application/json', false) + '{"n": 1, "pad": "');
      }
      await new Promise((r) => setTimeout(r, 300));
      const other = await open(attacked.port);
      const started = performance.now();
      other.socket.write(head('/test/plain', 8) + '{"n": 7}');
      const answer = await new Promise<string>((r) => other.socket.once('data', (d: Buffer) => r(d.toString())));
      const ms = performance.now() - started;
      console.log(
        `1,100 stalled connections from one address: ${1100 - closed} held, ${closed} closed at once; another client answered in ${ms.toFixed(1)} ms`,
      );
      expect(1100 - closed).toBe(256);
      expect(await attacked.closed('per-address-cap')).toBe(844);
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      for (const c of [...attack, other]) c.socket.destroy();
    } finally {
      await attacked.app.close();
    }
  });

  it('does not cap a trusted proxy (its one address carries every client)', async () => {
    const proxied = await startApp(LIMITS, '127.0.0.1');
    try {
      const held = await Promise.all(Array.from({ length: LIMITS.maxConnectionsPerAddress + 2 }, () => open(proxied.port)));
      const last = held.at(-1)!;
      last.socket.write(head('/test/plain', 8) + '{"n": 7}');
      const answer = await new Promise<string>((r) => last.socket.once('data', (d: Buffer) => r(d.toString())));
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      for (const c of held) c.socket.destroy();
    } finally {
      await proxied.app.close();
    }
  });
});
