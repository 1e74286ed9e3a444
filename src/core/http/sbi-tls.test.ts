import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runH2load } from '../../../bench/h2load.js';
import { makeTestCertificates, type CertificateFiles } from '../../testing/certificates.js';
import { h2, h2loadForTests, h2Session } from '../../testing/h2.js';
import { createMetrics } from '../metrics.js';
import type { App } from './app.js';
import { problems } from './problem.js';
import { createSbiApp, type SbiApp } from './sbi.js';

/**
 * The SBI over TLS (ALPN h2 and http/1.1) and mutual TLS (a client certificate signed by SBI_TLS_CA), with
 * certificates made by openssl for the run: node:http2, curl and h2load as clients. The bearer key is required in
 * every mode.
 */

const run = promisify(execFile);
const hasH2load = h2loadForTests('src/core/http/sbi-tls.test.ts');
const KEY = 'Bearer qk_sbi_tls_0123456789';
const ok = { path: '/test/ok', headers: { authorization: KEY } };
const certs = makeTestCertificates();
const refusals: { code?: string }[] = [];
const requests: Record<string, unknown>[] = [];

const routes = async (app: App) => {
  app.get('/test/ok', { config: { scope: 'test:sbi' } }, async () => ({ ok: true }));
};

async function start(ca: Buffer | null): Promise<{ app: SbiApp; origin: string }> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const line = JSON.parse(chunk.toString()) as { msg: string; code?: string };
      if (line.msg === 'TLS client refused') refusals.push(line);
      if (line.msg === 'request') requests.push(line);
      done();
    },
  });
  const app = await createSbiApp(
    {
      logger: pino({ level: 'info' }, sink),
      metrics: createMetrics(),
      guard: (request, _scope, done) => done(request.headers.authorization === KEY ? undefined : problems.unauthorized()),
      tls: { cert: certs.server.cert, key: certs.server.key, ca },
    },
    [routes],
  );
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, origin: address.replace('http://', 'https://') };
}

let tls: { app: SbiApp; origin: string };
let mtls: { app: SbiApp; origin: string };
beforeAll(async () => {
  tls = await start(null);
  mtls = await start(certs.ca);
});
afterAll(async () => {
  await tls.app.close();
  await mtls.app.close();
  certs.remove();
});

const curl = (args: string[]) => run('curl', ['-sS', '--cacert', certs.caPath, '-w', '\n%{http_version} %{http_code}', ...args]);
const clientCert = (files: CertificateFiles) => ({ ca: certs.ca, cert: files.cert, key: files.key });

describe('SBI over TLS', () => {
  it('answers HTTP/2 negotiated with ALPN h2, and requires the bearer key', async () => {
    const session = await h2Session(tls.origin, { ca: certs.ca });
    expect(session.alpnProtocol).toBe('h2');
    session.close();
    const answer = await h2(tls.origin, ok, { ca: certs.ca });
    expect(answer.status).toBe(200);
    expect((await h2(tls.origin, { path: '/test/ok' }, { ca: certs.ca })).status).toBe(401);
    // The one line per request says which listener answered.
    expect(requests.find((line) => line.reqId === answer.headers['x-request-id'])).toMatchObject({
      listener: 'sbi',
      method: 'GET',
      route: '/test/ok',
      status: 200,
    });
  });

  it('answers curl over HTTP/2 and over HTTP/1.1 (ALPN http/1.1)', async () => {
    expect((await curl(['--http2', '-H', `authorization: ${KEY}`, `${tls.origin}/test/ok`])).stdout).toBe('{"ok":true}\n2 200');
    expect((await curl(['--http1.1', '-H', `authorization: ${KEY}`, `${tls.origin}/test/ok`])).stdout).toBe('{"ok":true}\n1.1 200');
  });

  it.skipIf(!hasH2load)('answers every request of h2load over TLS', async () => {
    const result = await runH2load({ urls: [`${tls.origin}/test/ok`], headers: { authorization: KEY }, connections: 2, streams: 16, requests: 1000 });
    expect(result, result.output).toMatchObject({ done: 1000, errored: 0, status: { '2xx': 1000 } });
    expect(result.output).toContain('Application protocol: h2');
  });
});

describe('SBI over mutual TLS', () => {
  it('serves a client whose certificate SBI_TLS_CA signed, still only with the bearer key', async () => {
    expect((await h2(mtls.origin, ok, clientCert(certs.client))).status).toBe(200);
    expect((await h2(mtls.origin, { path: '/test/ok' }, clientCert(certs.client))).status).toBe(401);
    const answer = await curl([
      '--http2',
      '--cert',
      certs.client.certPath,
      '--key',
      certs.client.keyPath,
      '-H',
      `authorization: ${KEY}`,
      `${mtls.origin}/test/ok`,
    ]);
    expect(answer.stdout).toBe('{"ok":true}\n2 200');
  });

  it.each([
    ['no client certificate', { ca: certs.ca }, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'],
    ['a certificate from another CA', clientCert(certs.otherCaClient), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['an expired certificate', clientCert(certs.expiredClient), 'CERT_HAS_EXPIRED'],
  ])('refuses %s in the handshake (logged with its reason) and serves others on', async (_name, options, code) => {
    const before = refusals.length;
    await expect(h2(mtls.origin, ok, options)).rejects.toThrow();
    await expect.poll(() => refusals.slice(before).map((r) => r.code)).toContain(code);
    expect((await h2(mtls.origin, ok, clientCert(certs.client))).status).toBe(200);
  });

  it('refuses curl with an expired certificate, and serves curl with a good one', async () => {
    await expect(
      curl(['--http2', '--cert', certs.expiredClient.certPath, '--key', certs.expiredClient.keyPath, '-H', `authorization: ${KEY}`, `${mtls.origin}/test/ok`]),
    ).rejects.toThrow();
    const answer = await curl([
      '--http1.1',
      '--cert',
      certs.client.certPath,
      '--key',
      certs.client.keyPath,
      '-H',
      `authorization: ${KEY}`,
      `${mtls.origin}/test/ok`,
    ]);
    expect(answer.stdout).toBe('{"ok":true}\n1.1 200');
  });
});
