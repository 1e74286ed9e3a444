import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import { capPerAddress, type ClosedReason, type Http2Limits, type HttpLimits } from './limits.js';
import { PROBLEM_BASE } from './problem.js';

/** The SBI's TLS material, read at start (core/config.ts): PEM certificate chain and key; `ca` turns on mutual TLS. */
export interface SbiTls {
  cert: Buffer;
  key: Buffer;
  /** Client certificates must be signed by one of these CAs; null: no client certificate is asked for. */
  ca: Buffer | null;
}

export interface Http2ServerConfig {
  /** TLS with ALPN h2 and http/1.1 (and mutual TLS with `ca`); null: h2c with prior knowledge. */
  tls: SbiTls | null;
  limits: HttpLimits;
  http2Limits: Http2Limits;
  /** Counts a connection a limit closed (qalqan_http_connections_closed_total). */
  closed: (reason: ClosedReason) => void;
}

export type Http2Handler = (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse) => void;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const HTTP1_BODY = JSON.stringify({
  type: `${PROBLEM_BASE}http-version-not-supported`,
  title: 'HTTP version not supported',
  status: 505,
  detail: 'this port speaks HTTP/2 only (h2c with prior knowledge, e.g. curl --http2-prior-knowledge); HTTP/1.1 is on the main API port',
});
const HTTP1_REFUSAL =
  'HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: application/problem+json\r\n' +
  `Content-Length: ${Buffer.byteLength(HTTP1_BODY)}\r\nConnection: close\r\n\r\n${HTTP1_BODY}`;

/**
 * h2c takes only connections that open with the HTTP/2 preface: anything else (an HTTP/1.1 request, an h2c Upgrade)
 * gets one HTTP/1.1 505 problem and the connection is closed, where nghttp2 would answer with binary GOAWAY. The
 * first bytes are read once per connection and handed back: the HTTP/2 session reads what the socket has buffered.
 */
function acceptOnlyHttp2(server: Http2Server, prefaceTimeoutMs: number, closed: (reason: ClosedReason) => void): void {
  const http2Listeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    // Until the HTTP/2 session takes the socket, its errors (a client's reset) are ours to handle.
    const dropped = () => socket.destroy();
    socket.on('error', dropped);
    socket.setTimeout(prefaceTimeoutMs, () => {
      closed('headers-timeout');
      socket.destroy();
    });
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      const n = Math.min(chunk.length, PREFACE.length);
      if (chunk.subarray(0, n).equals(PREFACE.subarray(0, n))) {
        socket.unshift(chunk);
        socket.removeListener('error', dropped);
        for (const listener of http2Listeners) listener.call(server, socket);
      } else {
        socket.end(HTTP1_REFUSAL);
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    });
  });
}

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

/** A header list's size as SETTINGS_MAX_HEADER_LIST_SIZE counts it: each field's name and value, plus 32. */
function headerListSize(rawHeaders: string[]): number {
  let size = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) size += rawHeaders[i]!.length + (rawHeaders[i + 1]?.length ?? 0) + 32;
  return size;
}

/**
 * Checks each stream before the request reaches Fastify. A header list over the limit in the client's first flight
 * (before it acknowledged our SETTINGS, when Node does not yet hold it to them) is answered 431; later ones are reset
 * by Node (ENHANCE_YOUR_CALM). A stream still expecting a body is cancelled when the body stalls for the request
 * timeout (a GET's stream ends with its headers).
 */
function checkStreams(server: Http2Server | Http2SecureServer, config: Http2ServerConfig): void {
  const max = config.http2Limits.maxHeaderListSize;
  const tooLarge = JSON.stringify({
    type: `${PROBLEM_BASE}headers-too-large`,
    title: 'Request header fields too large',
    status: 431,
    detail: `the request headers exceed ${max} bytes`,
  });
  const toFastify = server.listeners('stream') as StreamListener[];
  server.removeAllListeners('stream');
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    if (headerListSize(rawHeaders) > max) {
      stream.respond({ ':status': 431, 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(tooLarge) });
      stream.end(tooLarge);
      return;
    }
    if (!stream.endAfterHeaders) {
      stream.setTimeout(config.limits.requestTimeoutMs, () => {
        config.closed('request-timeout');
        stream.close(constants.NGHTTP2_CANCEL);
      });
      stream.once('end', () => stream.setTimeout(0));
    }
    for (const listener of toFastify) listener.call(server, stream, headers, flags, rawHeaders);
  });
}

/**
 * The SBI's HTTP/2 server: h2c with prior knowledge, or TLS with ALPN h2 and http/1.1 (mutual TLS with a CA). Its
 * limits: SETTINGS_MAX_CONCURRENT_STREAMS (more streams are refused with RST_STREAM REFUSED_STREAM), the header list
 * size and count (more resets the stream), an idle session's GOAWAY, a stream whose body stalls for the request
 * timeout is cancelled, the per-address connection cap, and the preface / TLS handshake within the headers timeout.
 */
export function createHttp2Server(handler: Http2Handler, config: Http2ServerConfig): Http2Server | Http2SecureServer {
  const { limits, http2Limits, tls } = config;
  const options = {
    settings: { maxConcurrentStreams: http2Limits.maxConcurrentStreams, maxHeaderListSize: http2Limits.maxHeaderListSize },
    maxHeaderListPairs: http2Limits.maxHeaderListPairs,
  };
  let server: Http2Server | Http2SecureServer;
  if (tls) {
    const secure = createSecureServer(
      {
        ...options,
        cert: tls.cert,
        key: tls.key,
        // ALPN h2, and http/1.1 for clients without HTTP/2 (answered by the same routes).
        allowHTTP1: true,
        minVersion: 'TLSv1.2',
        handshakeTimeout: limits.headersTimeoutMs,
        ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
      },
      handler,
    );
    // HTTP/1.1 over TLS: the main API's timeouts (Node enforces them on those connections).
    Object.assign(secure, { headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs });
    server = secure;
  } else {
    const plain = createServer(options, handler);
    acceptOnlyHttp2(plain, limits.headersTimeoutMs, config.closed);
    server = plain;
  }
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.setTimeout(http2Limits.sessionIdleTimeoutMs, () => session.close());
  });
  checkStreams(server, config);
  // Fastify calls this when it closes: every session gets a GOAWAY, and the streams in flight are answered first.
  Object.assign(server, { closeHttp2Sessions: () => sessions.forEach((session) => session.close()) });
  capPerAddress(server, limits.maxConnectionsPerAddress, false, config.closed);
  return server;
}
