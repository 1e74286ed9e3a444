import dgram from 'node:dgram';
import net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../../testing/wait.js';
import type { CallToScreen, ScreeningResult } from '../screening/schema.js';
import { headerValue, headerValues, parseMessage, type SipResponse } from './message.js';
import { createSipServer } from './server.js';

const BLOCKED_CLI = '+77017770000';
const FLAGGED_CLI = '+77017770001';
const FAILING_CLI = '+77017770002';
const BAD_IDENTITY_FLAG_CLI = '+77017770003';
const BAD_IDENTITY_BLOCK_CLI = '+77017770004';
/** Screening of this CLI waits until the test calls `release`. */
const SLOW_CLI = '+77017770005';
const slow: Array<(result: ScreeningResult) => void> = [];

const calls: CallToScreen[] = [];
const decisions: string[] = [];
let port = 0;
const server = createSipServer({
  host: '127.0.0.1',
  port: 0,
  logger: pino({ level: 'silent' }),
  screen: async (call): Promise<ScreeningResult> => {
    calls.push(call);
    if (call.callingNumber === FAILING_CLI) throw new Error('screening broke');
    if (call.callingNumber === SLOW_CLI) return new Promise((resolve) => slow.push(resolve));
    if (call.callingNumber === BAD_IDENTITY_FLAG_CLI) return { verdict: 'flag', reasons: ['IDENTITY_INVALID'], identityError: { code: 438, reason: 'Invalid Identity Header' } };
    if (call.callingNumber === BAD_IDENTITY_BLOCK_CLI) return { verdict: 'block', reasons: ['IDENTITY_INVALID', 'INVALID_CLI'], identityError: { code: 437, reason: 'Unsupported Credential' } };
    if (call.callingNumber === BLOCKED_CLI) return { verdict: 'block', reasons: ['SPOOFED_KZ_MOBILE_FROM_ABROAD', 'INVALID_CLI'] };
    if (call.callingNumber === FLAGGED_CLI) return { verdict: 'flag', reasons: ['IDENTITY_MISSING', 'KZ_GEOGRAPHIC_FROM_ABROAD'] };
    return { verdict: 'allow', reasons: [] };
  },
  trunkOf: (address) => (address === '127.0.0.1' ? { id: 'trunk-1', operatorId: 'org-kcell', ingress: 'domestic' } : undefined),
  trusted: (address) => address === '127.0.0.1',
  defaultIngress: 'international',
  onDecision: (_call, result, trunkId) => decisions.push(`${result.verdict}@${trunkId}`),
});

beforeAll(async () => {
  const ports = await server.start();
  expect(ports.udpPort).toBe(ports.tcpPort);
  port = ports.udpPort;
});
afterAll(() => server.stop());

let serial = 0;
function request(method: string, { cli = '+77021234567', extra = [] as string[], branch = `z9hG4bK-t${++serial}`, uri = 'sip:+77011234567@127.0.0.1;user=phone', transport = 'UDP' } = {}): string {
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/${transport} 127.0.0.1:5999;branch=${branch};rport`,
    'Via: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK-upstream',
    `From: "Caller" <sip:${cli}@127.0.0.1>;tag=from${serial}`,
    'To: <sip:+77011234567@127.0.0.1>',
    `Call-ID: call-${serial}@test`,
    `CSeq: 1 ${method}`,
    'Max-Forwards: 70',
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A UDP client socket that collects every datagram it receives. */
async function udpClient() {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    received,
    send: (data: string | Buffer) => new Promise<void>((resolve, reject) => socket.send(data, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()))),
    async next(count = received.length + 1): Promise<SipResponse> {
      await waitFor(`UDP response #${count}`, () => received.length >= count, 5000, 5);
      const parsed = parseMessage(received[count - 1]!);
      if (!parsed.ok || parsed.message.type !== 'response') throw new Error(`not a response: ${received[count - 1]!.toString()}`);
      return parsed.message;
    },
    close: () => socket.close(),
  };
}

let udp: Awaited<ReturnType<typeof udpClient>>;
beforeAll(async () => {
  udp = await udpClient();
});
afterAll(() => udp.close());

async function ask(text: string | Buffer): Promise<SipResponse> {
  const count = udp.received.length + 1;
  await udp.send(text);
  return udp.next(count);
}

/** Sends and expects no answer within a short while. */
async function silent(text: string | Buffer): Promise<void> {
  const before = udp.received.length;
  await udp.send(text);
  await sleep(150);
  expect(udp.received.length).toBe(before);
}

describe('SIP redirect server over UDP', () => {
  it('lets an allowed call through with 302, Contact = the Request-URI, and copies the dialog headers', async () => {
    const text = request('INVITE', { extra: ['P-Asserted-Identity: <tel:+77029999999>', 'Diversion: <sip:+77013333333@x>;reason=unconditional', 'Identity: abc.def.ghi;info=<https://cert.example/c.pem>'] });
    const res = await ask(text);
    expect(res.status).toBe(302);
    expect(res.reason).toBe('Moved Temporarily');
    expect(headerValue(res.headers, 'contact')).toBe('<sip:+77011234567@127.0.0.1;user=phone>');
    expect(headerValue(res.headers, 'x-qalqan-verdict')).toBe('allow');
    expect(headerValue(res.headers, 'x-qalqan-reasons')).toBeUndefined();
    expect(headerValues(res.headers, 'via')).toEqual([`SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-t${serial};rport`, 'SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK-upstream']);
    expect(headerValue(res.headers, 'from')).toBe(`"Caller" <sip:+77021234567@127.0.0.1>;tag=from${serial}`);
    expect(headerValue(res.headers, 'to')).toMatch(/^<sip:\+77011234567@127\.0\.0\.1>;tag=\w+$/);
    expect(headerValue(res.headers, 'call-id')).toBe(`call-${serial}@test`);
    expect(headerValue(res.headers, 'cseq')).toBe('1 INVITE');
    expect(headerValue(res.headers, 'server')).toBe('Qalqan');
    expect(headerValue(res.headers, 'content-length')).toBe('0');
    expect(calls.at(-1)).toEqual({
      callingNumber: '+77029999999',
      calledNumber: '+77011234567',
      redirectingNumber: '+77013333333',
      identity: 'abc.def.ghi;info=<https://cert.example/c.pem>',
      ingress: 'domestic',
      trunkId: 'trunk-1',
      originatingOperator: 'org-kcell',
      toNumber: '+77011234567',
    });
    expect(decisions.at(-1)).toBe('allow@trunk-1');
  });

  it('blocks with 603 Decline and a Reason header naming the first reason', async () => {
    const res = await ask(request('INVITE', { cli: BLOCKED_CLI }));
    expect(res.status).toBe(603);
    expect(res.reason).toBe('Decline');
    expect(headerValue(res.headers, 'reason')).toBe('SIP;cause=603;text="SPOOFED_KZ_MOBILE_FROM_ABROAD"');
    expect(headerValue(res.headers, 'x-qalqan-verdict')).toBe('block');
    expect(headerValue(res.headers, 'contact')).toBeUndefined();
    expect(calls.at(-1)?.callingNumber).toBe(BLOCKED_CLI);
  });

  it('lets a flagged call through with its reasons', async () => {
    const res = await ask(request('INVITE', { cli: FLAGGED_CLI }));
    expect(res.status).toBe(302);
    expect(headerValue(res.headers, 'x-qalqan-verdict')).toBe('flag');
    expect(headerValue(res.headers, 'x-qalqan-reasons')).toBe('IDENTITY_MISSING,KZ_GEOGRAPHIC_FROM_ABROAD');
  });

  it('takes the ingress from a trusted X-Qalqan-Ingress, and rejects a bad one', async () => {
    await ask(request('INVITE', { extra: ['X-Qalqan-Ingress: international'] }));
    expect(calls.at(-1)?.ingress).toBe('international');
    const res = await ask(request('INVITE', { extra: ['X-Qalqan-Ingress: mars'] }));
    expect(res.status).toBe(400);
    expect(headerValue(res.headers, 'warning')).toContain('X-Qalqan-Ingress');
  });

  it('answers a retransmitted INVITE with the identical response and decides only once; absorbs the ACK', async () => {
    const text = request('INVITE', { cli: BLOCKED_CLI });
    const before = calls.length;
    const count = udp.received.length;
    await udp.send(text);
    await udp.send(text);
    await udp.next(count + 2);
    expect(udp.received[count]).toEqual(udp.received[count + 1]);
    await udp.send(text);
    await udp.next(count + 3);
    expect(udp.received[count + 2]).toEqual(udp.received[count]);
    expect(calls.length).toBe(before + 1);
    const ack = text.replace(/INVITE/g, 'ACK');
    await silent(ack);
    await silent(ack);
  });

  it('answers 500 when screening fails, and keeps serving', async () => {
    expect((await ask(request('INVITE', { cli: FAILING_CLI }))).status).toBe(500);
    expect((await ask(request('INVITE'))).status).toBe(302);
  });

  it('answers OPTIONS with 200, CANCEL, unknown methods and bad URIs with clear codes', async () => {
    const options = await ask(request('OPTIONS'));
    expect(options.status).toBe(200);
    expect(headerValue(options.headers, 'allow')).toBe('INVITE, ACK, CANCEL, OPTIONS');
    const branch = `z9hG4bK-cancel${serial}`;
    await ask(request('INVITE', { branch }));
    expect((await ask(request('CANCEL', { branch }))).status).toBe(200);
    expect((await ask(request('CANCEL'))).status).toBe(481);
    expect((await ask(request('BYE'))).status).toBe(405);
    expect((await ask(request('INVITE', { uri: 'sip:127.0.0.1' }))).status).toBe(484);
    expect((await ask(request('INVITE', { uri: 'mailto:a@b' }))).status).toBe(416);
  });

  it('passes the To number, and national and 00-prefixed numbers in international form', async () => {
    const text = request('INVITE', { cli: '7021234567', uri: 'sip:0044207946000@127.0.0.1;user=phone' }).replace(
      'To: <sip:+77011234567@127.0.0.1>',
      'To: <sip:7011234567@127.0.0.1>',
    );
    expect((await ask(text)).status).toBe(302);
    expect(calls.at(-1)).toMatchObject({ callingNumber: '+77021234567', calledNumber: '+44207946000', toNumber: '+77011234567' });
    await ask(request('INVITE', { extra: ['P-Asserted-Identity: <sip:0077029999999@x>'], uri: 'tel:87011234567' }));
    expect(calls.at(-1)).toMatchObject({ callingNumber: '+77029999999', calledNumber: '87011234567', toNumber: '+77011234567' });
  });

  it('treats an empty Identity header as no identity', async () => {
    await ask(request('INVITE', { extra: ['Identity:'] }));
    expect(calls.at(-1)).not.toHaveProperty('identity');
    await ask(request('INVITE', { extra: ['y: a.b.c'] }));
    expect(calls.at(-1)?.identity).toBe('a.b.c');
  });

  it('names an identity failure in X-Qalqan-Identity-Error, on 302 and on 603', async () => {
    const flagged = await ask(request('INVITE', { cli: BAD_IDENTITY_FLAG_CLI }));
    expect(flagged.status).toBe(302);
    expect(headerValue(flagged.headers, 'x-qalqan-identity-error')).toBe('438 Invalid Identity Header');
    const blocked = await ask(request('INVITE', { cli: BAD_IDENTITY_BLOCK_CLI }));
    expect(blocked.status).toBe(603);
    expect(headerValue(blocked.headers, 'reason')).toBe('SIP;cause=603;text="IDENTITY_INVALID"');
    expect(headerValue(blocked.headers, 'x-qalqan-reasons')).toBe('IDENTITY_INVALID,INVALID_CLI');
    expect(headerValue(blocked.headers, 'x-qalqan-identity-error')).toBe('437 Unsupported Credential');
    const plain = await ask(request('INVITE', { cli: BLOCKED_CLI }));
    expect(headerValue(plain.headers, 'x-qalqan-identity-error')).toBeUndefined();
  });

  it('answers a CANCEL of an INVITE being screened with 200, the INVITE with 487, and never sends its verdict', async () => {
    const branch = `z9hG4bK-slow${serial}`;
    const invite = request('INVITE', { cli: SLOW_CLI, branch });
    const count = udp.received.length;
    await udp.send(invite);
    await waitFor('screening started', () => slow.length === 1, 5000, 5);
    await udp.send(invite);
    await sleep(50);
    expect(udp.received.length).toBe(count);
    await udp.send(request('CANCEL', { branch }));
    const cancelOk = await udp.next(count + 1);
    const terminated = await udp.next(count + 2);
    expect([cancelOk.status, headerValue(cancelOk.headers, 'cseq')]).toEqual([200, '1 CANCEL']);
    expect([terminated.status, terminated.reason, headerValue(terminated.headers, 'cseq')]).toEqual([487, 'Request Terminated', '1 INVITE']);
    slow.shift()!({ verdict: 'block', reasons: ['DO_NOT_ORIGINATE'] });
    await sleep(100);
    expect(udp.received.length).toBe(count + 2);
    // A retransmitted INVITE gets the 487 again, byte for byte.
    await udp.send(invite);
    await udp.next(count + 3);
    expect(udp.received[count + 2]).toEqual(udp.received[count + 1]);
    await silent(invite.replace(/INVITE/g, 'ACK'));
  });

  it('adds received= to the top Via when its sent-by is not the source address (RFC 3261 §18.2.1)', async () => {
    const via = (text: string, top: string) => text.replace(/^Via: SIP\/2\.0\/UDP 127\.0\.0\.1:5999;/m, `Via: ${top};`);
    const named = await ask(via(request('OPTIONS'), 'SIP/2.0/UDP switch.example.net:5060'));
    expect(headerValues(named.headers, 'via')[0]).toMatch(/^SIP\/2\.0\/UDP switch\.example\.net:5060;branch=z9hG4bK-t\d+;rport;received=127\.0\.0\.1$/);
    expect(headerValues(named.headers, 'via')[1]).toBe('SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK-upstream');
    const other = await ask(via(request('INVITE'), 'SIP/2.0/UDP 10.1.1.1 ; received=10.2.2.2'));
    expect(other.status).toBe(302);
    expect(headerValues(other.headers, 'via')[0]).toMatch(/^SIP\/2\.0\/UDP 10\.1\.1\.1;branch=z9hG4bK-t\d+;rport;received=127\.0\.0\.1$/);
    const list = await ask(request('OPTIONS').replace(/^(Via: SIP\/2\.0\/UDP) 127\.0\.0\.1:5999(;branch=[^;]+);rport/m, '$1 [::1]:5999$2, SIP/2.0/UDP 10.0.0.7'));
    expect(headerValues(list.headers, 'via')[0]).toMatch(/^SIP\/2\.0\/UDP \[::1\]:5999;branch=z9hG4bK-t\d+;received=127\.0\.0\.1, SIP\/2\.0\/UDP 10\.0\.0\.7$/);
    const same = await ask(request('OPTIONS'));
    expect(headerValues(same.headers, 'via')[0]).toMatch(/^SIP\/2\.0\/UDP 127\.0\.0\.1:5999;branch=z9hG4bK-t\d+;rport$/);
  });

  it('accepts folded header lines', async () => {
    const text = request('INVITE', { extra: ['Subject: urgent,', '\tplease answer'] }).replace(/^(From: "Caller")/m, '$1\r\n ');
    const res = await ask(text);
    expect(res.status).toBe(302);
    expect(headerValue(res.headers, 'from')).toBe(`"Caller" <sip:+77021234567@127.0.0.1>;tag=from${serial}`);
    expect(calls.at(-1)?.callingNumber).toBe('+77021234567');
  });

  it('answers a retransmitted malformed request with the identical 400', async () => {
    const bad = request('INVITE').replace('Content-Length: 0', 'Content-Length: 500');
    const count = udp.received.length;
    await udp.send(bad);
    await udp.next(count + 1);
    await udp.send(bad);
    await udp.next(count + 2);
    expect(udp.received[count]!.toString('latin1')).toMatch(/^SIP\/2\.0 400 /);
    expect(udp.received[count + 1]).toEqual(udp.received[count]);
  });

  it('answers malformed requests with 400 where it can address them, drops the rest, and still answers afterwards', async () => {
    const valid = request('INVITE');
    const truncated = await ask(valid.slice(0, valid.indexOf('Max-Forwards')));
    expect(truncated.status).toBe(400);
    const wrongLength = await ask(request('INVITE').replace('Content-Length: 0', 'Content-Length: 500'));
    expect(wrongLength.status).toBe(400);
    expect(headerValue(wrongLength.headers, 'warning')).toContain('Content-Length 500');
    const huge = await ask(request('INVITE', { extra: [`X-Huge: ${'x'.repeat(20_000)}`] }));
    expect(huge.status).toBe(400);
    const many = await ask(request('INVITE', { extra: Array.from({ length: 200 }, (_, i) => `X-${i}: ${i}`) }));
    expect(many.status).toBe(400);
    const noCallId = await ask(request('INVITE').replace(/Call-ID: .*\r\n/, ''));
    expect(noCallId.status).toBe(400);
    expect(headerValue(noCallId.headers, 'warning')).toContain('call-id');
    const wrongCseq = await ask(request('INVITE').replace('CSeq: 1 INVITE', 'CSeq: 1 OPTIONS'));
    expect(wrongCseq.status).toBe(400);
    await silent(Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]));
    await silent('hello\r\n\r\n');
    await silent(request('INVITE').replace(/Via: .*\r\n/g, ''));
    await silent('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-x\r\n\r\n');
    await silent('\r\n\r\n');
    expect((await ask(request('OPTIONS'))).status).toBe(200);
  });
});

/** A TCP client that collects the whole stream. */
async function tcpClient() {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let data = '';
  let closed = false;
  socket.on('data', (chunk) => (data += chunk.toString('latin1')));
  socket.on('close', () => (closed = true));
  const responses = () => data.split(/(?=SIP\/2\.0 )/).filter((s) => s.startsWith('SIP/2.0'));
  return {
    socket,
    responses,
    isClosed: () => closed,
    async status(count: number): Promise<number> {
      await waitFor(`TCP response #${count}`, () => responses().length >= count, 5000, 5);
      return Number(responses()[count - 1]!.slice(8, 11));
    },
    raw: () => data,
  };
}

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
    expect(client.responses().map((r) => r.slice(8, 11)).sort()).toEqual(['200', '302', '603']);
    const withBody = request('OPTIONS', { transport: 'TCP' }).replace('Content-Length: 0\r\n\r\n', 'Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello');
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
    for (let last = -1; ; ) {
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
