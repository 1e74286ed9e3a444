import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';
import { h2loadAvailable } from '../../bench/h2load.js';

export interface H2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface H2Request {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string | string[]>;
  /** A JSON body (sent as application/json). */
  body?: string;
}

/** A stream the server reset instead of answering (RST_STREAM), with its error code (http2.constants.NGHTTP2_*). */
export class StreamReset extends Error {
  constructor(readonly rstCode: number) {
    super(`stream reset with code ${rstCode}`);
  }
}

/** An HTTP/2 session to an origin (http: h2c with prior knowledge; https: TLS with ALPN h2), once connected. */
export async function h2Session(origin: string, options: SecureClientSessionOptions = {}): Promise<ClientHttp2Session> {
  const session = connect(origin, options);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  session.on('error', () => undefined);
  return session;
}

/** One stream on a session: its answer, or a StreamReset, or the session's error (or its end without an answer). */
export function h2Request(session: ClientHttp2Session, request: H2Request): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': request.method ?? 'GET',
      ':path': request.path,
      ...(request.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...request.headers,
    });
    let headers: IncomingHttpHeaders = {};
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (headers = h));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () =>
      headers[':status'] ? resolve({ status: Number(headers[':status']), headers, body }) : reject(new Error('stream ended without a response')),
    );
    stream.on('error', (err) => reject(stream.rstCode ? new StreamReset(stream.rstCode) : err));
    stream.on('close', () => {
      if (stream.rstCode) reject(new StreamReset(stream.rstCode));
    });
    stream.end(request.body);
  });
}

/** One request on a session of its own. */
export async function h2(origin: string, request: H2Request, options: SecureClientSessionOptions = {}): Promise<H2Answer> {
  const session = await h2Session(origin, options);
  try {
    return await h2Request(session, request);
  } finally {
    session.close();
  }
}

/**
 * Whether h2load (Debian's nghttp2-client) is here for a test file's h2load tests: they skip without it, except in CI,
 * where the file fails.
 */
export function h2loadForTests(file: string): boolean {
  if (h2loadAvailable()) return true;
  if (process.env.CI) throw new Error('h2load is not installed; CI needs it: apt-get install -y nghttp2-client (see .ci/run)');
  console.warn(`${file}: the h2load tests are skipped: h2load is not installed (apt-get install -y nghttp2-client)`);
  return false;
}
