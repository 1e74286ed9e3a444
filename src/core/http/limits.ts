import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import { addressMatcher } from '../net.js';
import { PROBLEM_BASE } from './problem.js';

/** What one client may hold of the HTTP listener (README: the HTTP_* variables). */
export interface HttpLimits {
  /** A request's body must have arrived within this of its headers; a streamed upload must instead never pause this long. */
  requestTimeoutMs: number;
  /** The request line and headers must have arrived within this. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Open connections one client address may hold; 0 = no cap. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxConnectionsPerAddress: 256 };

/**
 * What one connection may hold of the SBI's HTTP/2 (core/http/http2-server.ts), on top of the HttpLimits it shares with
 * the main API (headers timeout: the preface and TLS handshake; request timeout: a stream's body; the per-address cap).
 */
export interface Http2Limits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams one connection may have open; more are refused (RST_STREAM REFUSED_STREAM). */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: bytes of one request's decoded header fields (16 KiB, as on HTTP/1.1); more resets the stream. */
  maxHeaderListSize: number;
  /** Header fields in one request; more resets the stream. */
  maxHeaderListPairs: number;
  /** A connection with no frame for this long is closed (GOAWAY). Network functions keep theirs open, so it is long. */
  sessionIdleTimeoutMs: number;
}

export const DEFAULT_HTTP2_LIMITS: Http2Limits = {
  maxConcurrentStreams: 128,
  maxHeaderListSize: 16 * 1024,
  maxHeaderListPairs: 128,
  sessionIdleTimeoutMs: 120_000,
};

const UPLOAD = Symbol('qalqan.streamedUpload');
type Marked = IncomingMessage & { [UPLOAD]?: true };

/**
 * Marks a request as a streamed upload (may take longer than the request timeout): it is cut only when its body
 * stops arriving for the request timeout while the server is waiting for it.
 */
export function markStreamedUpload(req: IncomingMessage): void {
  (req as Marked)[UPLOAD] = true;
}

/**
 * Node enforces the headers (checked every second; the app's clientErrorHandler answers 408) and keep-alive timeouts;
 * the request timeout is `enforceLimits`' job.
 */
export function serverOptions(limits: HttpLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs / 4),
  };
}

const TIMEOUT_BODY = JSON.stringify({
  type: `${PROBLEM_BASE}request-timeout`,
  title: 'Request timeout',
  status: 408,
  detail: 'the request did not arrive in time',
});
const TIMEOUT_RESPONSE = `HTTP/1.1 408 Request Timeout\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(TIMEOUT_BODY)}\r\nConnection: close\r\n\r\n${TIMEOUT_BODY}`;

/** Ends a connection whose request is late: a 408 when nothing was answered yet, then the socket is gone. */
function cut(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  if (res.headersSent || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(TIMEOUT_RESPONSE, () => socket.destroy());
  setTimeout(() => socket.destroy(), 1000).unref();
}

interface Pending {
  req: Marked;
  res: ServerResponse;
  since: number;
  bytesRead: number;
}

/** Why a limit closed a connection (the `reason` of qalqan_http_connections_closed_total). */
export type ClosedReason = 'headers-timeout' | 'request-timeout' | 'per-address-cap';

/** Cuts requests whose body is late, on every connection the server takes (whichever lane answers it). */
function enforceRequestTimeout(server: Server, timeoutMs: number, closed: (reason: ClosedReason) => void): void {
  const pending = new Set<Pending>();
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    // Node marks a request complete only after this event, but within the same turn of the event loop when its body
    // (if any) came with its headers: only a request still incomplete after that turn is tracked. Tracking every
    // request (holding it for up to a second) cost the screening route a fifth of its rate.
    const since = Date.now();
    setImmediate(() => {
      if (!req.complete) pending.add({ req, res, since, bytesRead: req.socket.bytesRead });
    });
  });
  const sweep = () => {
    const now = Date.now();
    for (const p of pending) {
      if (p.req.complete || p.req.socket.destroyed) pending.delete(p);
      else if (p.req[UPLOAD] && (p.req.socket.bytesRead !== p.bytesRead || p.req.readableLength > 0)) {
        // Still arriving, or waiting for us to read it: the upload is not stalled.
        p.bytesRead = p.req.socket.bytesRead;
        p.since = now;
      } else if (now - p.since >= timeoutMs) {
        pending.delete(p);
        cut(p.req, p.res);
        closed('request-timeout');
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  server.on('listening', () => (timer = setInterval(sweep, Math.min(1000, timeoutMs / 4)).unref()));
  server.on('close', () => clearInterval(timer));
}

/** At most `max` open connections per client address; one more is closed at once. */
function capConnections(server: NetServer, max: number, exempt: (address: string) => boolean, closed: (reason: ClosedReason) => void): void {
  const open = new Map<string, number>();
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || exempt(address)) return;
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      closed('per-address-cap');
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/**
 * Applies the limits to a server. Behind trusted proxies the socket's address is the proxy's, so the per-address
 * cap skips them (every address when `trustProxy` is true): the load balancer limits its clients.
 */
export function enforceLimits(server: Server, limits: HttpLimits, trustProxy: boolean | string, closed: (reason: ClosedReason) => void): void {
  enforceRequestTimeout(server, limits.requestTimeoutMs, closed);
  capPerAddress(server, limits.maxConnectionsPerAddress, trustProxy, closed);
}

/** The per-address connection cap alone (0 = none), for any TCP or TLS server: the SBI's HTTP/2 server too. */
export function capPerAddress(server: NetServer, max: number, trustProxy: boolean | string, closed: (reason: ClosedReason) => void): void {
  if (max === 0 || trustProxy === true) return;
  const proxy = trustProxy ? addressMatcher(trustProxy.split(',')) : () => false;
  capConnections(server, max, (address) => proxy(address.replace(/^::ffff:/, '')), closed);
}
