import dgram from 'node:dgram';
import net from 'node:net';
import { createSipHandler, type SipHandlerOptions, type SipSource } from './handler.js';
import { frameMessage, leadingCrlf, MAX_MESSAGE_BYTES } from './message.js';

export interface SipServerOptions extends SipHandlerOptions {
  /** Bind address, e.g. '0.0.0.0' or '127.0.0.1'. */
  host: string;
  /** UDP and TCP on the same port; 0 = an ephemeral port (tests). */
  port: number;
  /** TCP limits; the defaults are below (tests lower them). */
  tcp?: Partial<TcpLimits>;
}

export interface TcpLimits {
  /** Connections open at once, in all. */
  maxConnections: number;
  /** Connections open at once from one source address. */
  maxConnectionsPerSource: number;
  /** Responses queued on a connection (the peer not reading) beyond which reading from it pauses until they drain. */
  pauseWriteBytes: number;
  /** Responses queued on a connection beyond which it is closed. */
  maxWriteBytes: number;
}

export interface SipServer {
  start(): Promise<{ udpPort: number; tcpPort: number }>;
  stop(): Promise<void>;
}

/** A TCP connection with no traffic for this long is closed (switches keep theirs alive with OPTIONS). */
const TCP_IDLE_MS = 10 * 60_000;
const TCP_LIMITS: TcpLimits = {
  maxConnections: 4096,
  maxConnectionsPerSource: 64,
  pauseWriteBytes: 1024 * 1024,
  maxWriteBytes: 8 * 1024 * 1024,
};
const UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;
const KEEP_ALIVE_PONG = Buffer.from('\r\n');

/** Whether `chunk`, appended to data ending in `tail` (its last ≤ 3 bytes), completes an end of headers. */
function endsHeaders(tail: Buffer, chunk: Buffer): boolean {
  if (chunk.includes('\n\n', 0, 'latin1') || chunk.includes('\r\n\r\n', 0, 'latin1')) return true;
  if (tail.length === 0) return false;
  const seam = Buffer.concat([tail, chunk.subarray(0, 3)]);
  return seam.includes('\n\n', 0, 'latin1') || seam.includes('\r\n\r\n', 0, 'latin1');
}

/** `::ffff:10.0.0.1` (IPv4 seen on a dual-stack socket) → `10.0.0.1`, so trunks are configured one way. */
const plainAddress = (address: string) => (address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address);

/**
 * The SIP redirect server: UDP (one datagram, one message) and TCP (a stream framed by Content-Length) on one port,
 * both fed to the same handler and transaction store.
 */
export function createSipServer(options: SipServerOptions): SipServer {
  const { logger } = options;
  const handle = createSipHandler(options);
  let udp: dgram.Socket | undefined;
  let tcp: net.Server | undefined;
  const connections = new Set<net.Socket>();
  const limits: TcpLimits = { ...TCP_LIMITS, ...options.tcp };
  const perSource = new Map<string, number>();

  function bindUdp(port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: net.isIPv6(options.host) ? 'udp6' : 'udp4' });
      socket.once('error', reject);
      socket.bind(port, options.host, () => {
        socket.off('error', reject);
        socket.on('error', (err) => logger.error({ err }, 'sip: UDP socket error'));
        try {
          socket.setRecvBufferSize(UDP_RECEIVE_BUFFER);
        } catch (err) {
          logger.debug({ err }, 'sip: could not enlarge the UDP receive buffer');
        }
        socket.on('message', (data, rinfo) => {
          const source: SipSource = { address: plainAddress(rinfo.address), port: rinfo.port, transport: 'udp' };
          handle(data, source, (response) => {
            if (udp === socket) socket.send(response, rinfo.port, rinfo.address, (err) => err && logger.debug({ err }, 'sip: UDP send failed'));
          });
        });
        resolve(socket);
      });
    });
  }

  function listenTcp(port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const server = net.createServer(connection);
      server.maxConnections = limits.maxConnections;
      server.once('error', reject);
      server.listen({ port, host: options.host }, () => {
        server.off('error', reject);
        server.on('error', (err) => logger.error({ err }, 'sip: TCP server error'));
        resolve(server);
      });
    });
  }

  function connection(socket: net.Socket): void {
    const source: SipSource = { address: plainAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0, transport: 'tcp' };
    const open = perSource.get(source.address) ?? 0;
    if (open >= limits.maxConnectionsPerSource) {
      logger.debug({ peer: source.address, open }, 'sip: too many TCP connections from one source, closing');
      socket.destroy();
      return;
    }
    perSource.set(source.address, open + 1);
    connections.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', (err) => logger.debug({ err }, 'sip: TCP connection error'));
    socket.on('close', () => {
      connections.delete(socket);
      const left = (perSource.get(source.address) ?? 1) - 1;
      if (left > 0) perSource.set(source.address, left);
      else perSource.delete(source.address);
    });

    // Backpressure: a peer that sends but does not read must not make us queue its responses without bound.
    let paused = false;
    const reply = (data: Buffer) => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(data);
      const queued = socket.writableLength;
      if (queued > limits.maxWriteBytes) {
        logger.debug({ peer: source.address, queued }, 'sip: TCP peer does not read its responses, closing');
        socket.destroy();
      } else if (queued > limits.pauseWriteBytes && !paused) {
        paused = true;
        socket.pause();
        socket.once('drain', () => {
          paused = false;
          if (socket.destroyed) return;
          socket.resume();
          if (received > 0) pump();
        });
      }
    };

    // Bytes received and not yet handled, as chunks: they are joined only when a whole message may be there (the end
    // of its headers has arrived, or all `need` bytes of it), so a peer dripping bytes costs linear time, not quadratic.
    let chunks: Buffer[] = [];
    let received = 0;
    /** The whole length of the next message once its headers are complete; 0 while they are not. */
    let need = 0;
    /** The last ≤ 3 bytes received, while the headers are incomplete: an end of headers may straddle two chunks. */
    let tail: Buffer = Buffer.alloc(0);
    /** After a framing error: the stream is lost, whatever else arrives is ignored while the connection closes. */
    let lost = false;

    function pump(): void {
      let buffer: Buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      need = 0;
      for (;;) {
        if (paused || socket.destroyed) break;
        const crlf = leadingCrlf(buffer);
        // RFC 5626 §3.5.1: a double CRLF is a keep-alive ping, answered by one CRLF.
        if (crlf >= 4) reply(KEEP_ALIVE_PONG);
        buffer = buffer.subarray(crlf);
        if (buffer.length === 0) break;
        const frame = frameMessage(buffer);
        if (frame.kind === 'need-more') {
          need = frame.length ?? 0;
          break;
        }
        if (frame.kind === 'error') {
          // The stream cannot be re-synchronised: answer 400 if the head can be read, then close.
          handle(buffer.subarray(0, MAX_MESSAGE_BYTES), source, reply);
          logger.debug({ peer: source.address, code: frame.error.code }, 'sip: TCP framing error, closing');
          buffer = buffer.subarray(0, 0);
          lost = true;
          socket.end();
          break;
        }
        handle(buffer.subarray(0, frame.length), source, reply);
        buffer = buffer.subarray(frame.length);
      }
      chunks = buffer.length === 0 ? [] : [buffer];
      received = buffer.length;
      tail = buffer.subarray(Math.max(0, buffer.length - 3));
    }

    socket.on('data', (chunk: Buffer) => {
      if (lost) return;
      const ready = received === 0 || (need > 0 ? received + chunk.length >= need : received + chunk.length >= MAX_MESSAGE_BYTES || endsHeaders(tail, chunk));
      chunks.push(chunk);
      received += chunk.length;
      if (need === 0) tail = chunk.length >= 3 ? chunk.subarray(chunk.length - 3) : Buffer.concat([tail, chunk]).subarray(-3);
      if (ready && !paused) pump();
    });
  }

  return {
    async start() {
      // Both transports on one port: with port 0, retry when the UDP port's number is taken on TCP.
      for (let attempt = 0; ; attempt++) {
        const socket = await bindUdp(options.port);
        const port = socket.address().port;
        try {
          udp = socket;
          tcp = await listenTcp(port);
          logger.info({ host: options.host, port }, 'sip: redirect server listening on UDP and TCP');
          return { udpPort: port, tcpPort: port };
        } catch (err) {
          udp = undefined;
          socket.close();
          if (options.port !== 0 || attempt >= 9 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        }
      }
    },
    async stop() {
      const socket = udp;
      const server = tcp;
      udp = undefined;
      tcp = undefined;
      for (const c of connections) c.destroy();
      await Promise.all([
        socket ? new Promise<void>((resolve) => socket.close(() => resolve())) : undefined,
        server ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined,
      ]);
    },
  };
}
