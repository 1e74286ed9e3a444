import { get } from 'node:https';

/** A certificate (chain) fetched from an x5u, and how long the repository lets it be cached (null: it did not say). */
export interface FetchedPem {
  pem: string;
  maxAgeSeconds: number | null;
}

/** Fetches the PEM behind an x5u; rejects with a message fit for the Identity failure reason. */
export type CertificateFetcher = (url: URL) => Promise<FetchedPem>;

export interface FetcherOptions {
  /** Whole request, connection to last byte (default 2 s: a call is waiting). */
  timeoutMs?: number;
  /** Largest body accepted (default 64 KiB: a chain is a few KiB). */
  maxBytes?: number;
  /** Extra trusted CA certificates (PEM), for tests and private repositories; the system's CAs otherwise. */
  ca?: string;
}

/** `max-age` of a Cache-Control header in seconds; 0 for no-store or no-cache; null when it says neither. */
export function maxAgeOf(cacheControl: string | undefined): number | null {
  if (!cacheControl) return null;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge = directives.map((d) => /^max-age\s*=\s*"?([0-9]{1,10})"?$/.exec(d)).find((m) => m);
  return maxAge ? Number(maxAge[1]) : null;
}

/** The default fetcher: one HTTPS GET, no redirects, bounded in time and size. */
export function httpsFetcher(options: FetcherOptions = {}): CertificateFetcher {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  return (url) =>
    new Promise<FetchedPem>((resolve, reject) => {
      const request = get(url, { ca: options.ca, headers: { accept: 'application/pem-certificate-chain, application/x-pem-file;q=0.9' } }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          return fail(`the repository answered ${response.statusCode}`);
        }
        if (Number(response.headers['content-length'] ?? 0) > maxBytes) return fail(`the certificate is larger than ${maxBytes} bytes`);
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) return fail(`the certificate is larger than ${maxBytes} bytes`);
          chunks.push(chunk);
        });
        response.on('end', () => {
          clearTimeout(timer);
          if (size <= maxBytes) resolve({ pem: Buffer.concat(chunks).toString('utf8'), maxAgeSeconds: maxAgeOf(response.headers['cache-control']) });
        });
        response.on('error', (err) => fail(err.message));
      });
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      request.on('error', (err) => fail(err.message));
      function fail(why: string) {
        clearTimeout(timer);
        request.destroy();
        reject(new Error(why));
      }
    });
}
