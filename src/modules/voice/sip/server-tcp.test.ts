import net from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../../testing/wait.js';
import { createSipServer } from './server.js';
import { BLOCKED_CLI, request, tcpClient as tcpClientOn, useScreeningServer } from './server.fixture.js';

const port = useScreeningServer();
const tcpClient = () => tcpClientOn(port());

describe('SIP redirect server over TCP', () => {
  it('frames messages by Content-Length, even split and pipelined, and answers keep-alives', async () => {
    const client = await tcpClient();
    client.socket.write('\r\n\r\n');
    await waitFor('keep-alive pong', () => client.raw() === '\r\n', 5000, 5);
    const invite = request('INVITE', { transport: 'TCP' });
    const blocked = request('INVITE', { transport: 'TCP', cli: BLOCKED_CLI });
    client.socket.write(invite.slice(0, 30));
    await sleep(20);
    client.socket.write(invite.slice(30) + blocked + request('OPTIONS', { transport: 'TCP' }));
    await client.status(3);
    // Screening is asynchronous here, so the OPTIONS may be answered first: responses match by transaction.
    expect(
      client
        .responses()
        .map((r) => r.slice(8, 11))
        .sort(),
    ).toEqual(['200', '302', '603']);
    const withBody = request('OPTIONS', { transport: 'TCP' }).replace(
      'Content-Length: 0\r\n\r\n',
      'Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
    );
    client.socket.write(withBody);
    expect(await client.status(4)).toBe(200);
    client.socket.destroy();
  });

  it('answers a framing error with 400 and closes the connection; the server keeps serving', async () => {
    const client = await tcpClient();
    client.socket.write(request('INVITE', { transport: 'TCP' }).replace('Content-Length: 0', 'Content-Length: abc'));
    expect(await client.status(1)).toBe(400);
    await waitFor('connection closed', client.isClosed, 5000);

    const oversized = await tcpClient();
    oversized.socket.write(request('INVITE', { transport: 'TCP' }).replace('Content-Length: 0', 'Content-Length: 100000'));
    expect(await oversized.status(1)).toBe(400);
    await waitFor('connection closed', oversized.isClosed, 5000);

    const garbage = await tcpClient();
    garbage.socket.write(Buffer.alloc(70_000, 7));
    await waitFor('connection closed', garbage.isClosed, 5000);
    expect(garbage.responses()).toEqual([]);

    const after = await tcpClient();
    after.socket.write(request('OPTIONS', { transport: 'TCP' }));
    expect(await after.status(1)).toBe(200);
    after.socket.destroy();
  });
});

describe('SIP redirect server over TCP: limits', () => {
  let screenedHere = 0;
  const limited = (tcp: Parameters<typeof createSipServer>[0]['tcp']) =>
    createSipServer({
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      screen: () => {
        screenedHere++;
        return { verdict: 'allow', reasons: [] };
      },
      trunkOf: () => undefined,
      trusted: () => false,
      defaultIngress: 'international',
      tcp,
    });

  /** An INVITE whose 302 is about `size` bytes: the Vias a response copies are padded. */
  const bigInvite = (size: number) => {
    const vias = Array.from({ length: Math.ceil(size / 7000) }, (_, i) => `Via: SIP/2.0/TCP 10.0.0.${i};branch=z9hG4bK-${'p'.repeat(6900)}`);
    return request('INVITE', { transport: 'TCP', extra: vias });
  };

  /** Connects without reading; counts responses once it reads. */
  async function lazyClient(port: number) {
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause();
    let answers = 0;
    let carry = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      const text = carry + chunk.toString('latin1');
      answers += text.split('SIP/2.0 302 ').length - 1;
      carry = text.slice(-20);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    return { socket, answers: () => answers, closed: () => closed };
  }

  async function settled(read: () => number): Promise<number> {
    for (let last = -1; ;) {
      await sleep(300);
      const now = read();
      if (now === last) return now;
      last = now;
    }
  }

  it('stops reading from a peer that does not read its responses, and goes on once it does', async () => {
    const server = limited({ pauseWriteBytes: 256 * 1024 });
    const { tcpPort } = await server.start();
    try {
      screenedHere = 0;
      const client = await lazyClient(tcpPort);
      const total = 800; // ~22 MB of responses, far more than the kernel's socket buffers hold
      for (let i = 0; i < total; i++) client.socket.write(bigInvite(28_000));
      const handled = await settled(() => screenedHere);
      expect(handled).toBeGreaterThan(0);
      expect(handled).toBeLessThan(total);
      client.socket.resume();
      await waitFor('every response', () => client.answers() === total, 20_000, 20);
      expect(screenedHere).toBe(total);
      client.socket.destroy();
    } finally {
      await server.stop();
    }
  });

  it('closes a connection whose unread responses pass the hard cap', async () => {
    const server = limited({ pauseWriteBytes: 1024 ** 3, maxWriteBytes: 256 * 1024 });
    const { tcpPort } = await server.start();
    try {
      screenedHere = 0;
      const client = await lazyClient(tcpPort);
      const total = 800;
      for (let i = 0; i < total; i++) client.socket.write(bigInvite(28_000));
      await settled(() => screenedHere);
      client.socket.resume();
      await waitFor('connection closed', client.closed, 10_000);
      expect(client.answers()).toBeLessThan(total);
    } finally {
      await server.stop();
    }
  });

  it('caps the connections of one source address', async () => {
    const server = limited({ maxConnectionsPerSource: 2 });
    const { tcpPort } = await server.start();
    try {
      const clients = [];
      for (let i = 0; i < 3; i++) {
        const socket = net.connect({ port: tcpPort, host: '127.0.0.1' });
        let closed = false;
        socket.on('close', () => (closed = true));
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) => socket.once('connect', resolve));
        clients.push({ socket, closed: () => closed });
      }
      await waitFor('third connection closed', clients[2]!.closed, 5000);
      await sleep(50);
      expect(clients.map((c) => c.closed())).toEqual([false, false, true]);
      clients[0]!.socket.destroy();
      await waitFor('first connection closed', clients[0]!.closed, 5000);
      await sleep(50);
      const again = net.connect({ port: tcpPort, host: '127.0.0.1' });
      let data = '';
      again.on('data', (d: Buffer) => (data += d.toString('latin1')));
      again.write(request('OPTIONS', { transport: 'TCP' }));
      await waitFor('OPTIONS answered', () => data.startsWith('SIP/2.0 200 OK'), 5000);
      again.destroy();
      clients[1]!.socket.destroy();
    } finally {
      await server.stop();
    }
  });

  it('frames a message dripped in small pieces, with the end of headers and the body split across them', async () => {
    const client = await tcpClient();
    const head = request('OPTIONS', { transport: 'TCP' }).replace('Content-Length: 0\r\n\r\n', `X-Pad: ${'z'.repeat(3000)}\r\nContent-Length: 5\r\n\r\n`);
    const text = `${head}hello${request('OPTIONS', { transport: 'TCP' })}`;
    const cuts = [10, 200, 1500, head.length - 3, head.length - 1, head.length + 2, head.length + 5, head.length + 40, text.length];
    let from = 0;
    for (const cut of cuts) {
      client.socket.write(text.slice(from, cut));
      from = cut;
      await sleep(15);
    }
    expect(await client.status(2)).toBe(200);
    expect(client.responses()).toHaveLength(2);
    // Many tiny pieces of one message: still one answer.
    const dripped = request('OPTIONS', { transport: 'TCP' });
    for (let i = 0; i < dripped.length; i += 7) client.socket.write(dripped.slice(i, i + 7));
    expect(await client.status(3)).toBe(200);
    // The end of headers split across the last two pieces, nothing after it.
    let answered = 3;
    for (const back of [1, 2, 3]) {
      const options = request('OPTIONS', { transport: 'TCP' });
      client.socket.write(options.slice(0, options.length - back));
      await sleep(20);
      client.socket.write(options.slice(options.length - back));
      expect(await client.status(++answered)).toBe(200);
    }
    client.socket.destroy();
  });
});
