import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsFetcher, maxAgeOf } from './fetcher.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const CHAIN = fixture('chained.pem') + fixture('intermediate.pem');
const CA = fixture('tls.pem');

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer({ cert: CA, key: fixture('tls-key.pem') }, (request, response) => {
    switch (request.url) {
      case '/chain.pem':
        response.writeHead(200, { 'content-type': 'application/pem-certificate-chain', 'cache-control': 'public, max-age=600' });
        return response.end(CHAIN);
      case '/plain.pem':
        return response.end(CHAIN);
      case '/big.pem':
        response.writeHead(200, { 'content-length': String(100_000) });
        return response.end('x'.repeat(100_000));
      case '/streamed.pem':
        response.writeHead(200);
        for (let i = 0; i < 10; i++) response.write('x'.repeat(10_000));
        return response.end();
      case '/slow.pem':
        return undefined;
      case '/moved.pem':
        response.writeHead(302, { location: '/chain.pem' });
        return response.end();
      default:
        response.writeHead(404);
        return response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://localhost:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('x5u fetcher', () => {
  const fetch = httpsFetcher({ ca: CA, timeoutMs: 300, maxBytes: 64 * 1024 });

  it('fetches a chain over https with its Cache-Control max-age', async () => {
    expect(await fetch(new URL(`${base}/chain.pem`))).toEqual({ pem: CHAIN, maxAgeSeconds: 600 });
    expect(await fetch(new URL(`${base}/plain.pem`))).toEqual({ pem: CHAIN, maxAgeSeconds: null });
  });

  it('refuses other statuses (redirects are not followed), bodies over the size limit, slow repositories and untrusted TLS', async () => {
    await expect(fetch(new URL(`${base}/nope.pem`))).rejects.toThrow('the repository answered 404');
    await expect(fetch(new URL(`${base}/moved.pem`))).rejects.toThrow('the repository answered 302');
    await expect(fetch(new URL(`${base}/big.pem`))).rejects.toThrow('larger than 65536 bytes');
    await expect(fetch(new URL(`${base}/streamed.pem`))).rejects.toThrow('larger than 65536 bytes');
    const started = Date.now();
    await expect(fetch(new URL(`${base}/slow.pem`))).rejects.toThrow('no answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(httpsFetcher({ timeoutMs: 1_000 })(new URL(`${base}/chain.pem`))).rejects.toThrow(/self[- ]signed/);
  });

  it('reads max-age, and no-store or no-cache as 0', () => {
    expect(maxAgeOf('public, max-age=86400')).toBe(86_400);
    expect(maxAgeOf('Max-Age="60"')).toBe(60);
    expect(maxAgeOf('no-store')).toBe(0);
    expect(maxAgeOf('private, no-cache, max-age=600')).toBe(0);
    expect(maxAgeOf('public')).toBeNull();
    expect(maxAgeOf(undefined)).toBeNull();
  });
});
