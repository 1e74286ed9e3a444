import dgram from 'node:dgram';
import net from 'node:net';
import { createSipHandler, type SipHandlerOptions, type SipSource } from './handler.js';
import { frameMessage, leadingCrlf, MAX_MESSAGE_BYTES } from './message.js';

export interface SipServerOptions extends SipHandlerOptions {
  /** Bind address, e.g. '0.0.0.0' or '127.0.0.1'. */
  host: string;
  /** UDP and TCP on the same port; 0 = an ephemeral port (tests). */
  port: number;
}

export interface SipServer {
  start(): Promise<{ udpPort: number; tcpPort: number }>;
  stop(): Promise<void>;
}

/** A TCP connection with no traffic for this long is closed (switches keep theirs alive with OPTIONS). */
const TCP_IDLE_MS = 10 * 60_000;
const MAX_TCP_CONNECTIONS = 4096;
const UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;

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
      server.maxConnections = MAX_TCP_CONNECTIONS;
      server.once('error', reject);
      server.listen({ port, host: options.host }, () => {
        server.off('error', reject);
        server.on('error', (err) => logger.error({ err }, 'sip: TCP server error'));
        resolve(server);
      });
    });
  }

  function connection(socket: net.Socket): void {
    connections.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', (err) => logger.debug({ err }, 'sip: TCP connection error'));
    socket.on('close', () => connections.delete(socket));
    const source: SipSource = { address: plainAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0, transport: 'tcp' };
    const reply = (data: Buffer) => {
      if (!socket.destroyed && socket.writable) socket.write(data);
    };
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        const crlf = leadingCrlf(buffer);
        // RFC 5626 §3.5.1: a double CRLF is a keep-alive ping, answered by one CRLF.
        if (crlf >= 4) reply(Buffer.from('\r\n'));
        buffer = buffer.subarray(crlf);
        if (buffer.length === 0) return;
        const frame = frameMessage(buffer);
        if (frame.kind === 'need-more') return;
        if (frame.kind === 'error') {
          // The stream cannot be re-synchronised: answer 400 if the head can be read, then close.
          handle(buffer.subarray(0, MAX_MESSAGE_BYTES), source, reply);
          logger.debug({ peer: source.address, code: frame.error.code }, 'sip: TCP framing error, closing');
          buffer = Buffer.alloc(0);
          socket.end();
          return;
        }
        handle(buffer.subarray(0, frame.length), source, reply);
        buffer = buffer.subarray(frame.length);
      }
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
