import dgram from 'node:dgram';
import net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../../testing/wait.js';
import type { CallToScreen, ScreeningResult } from '../types.js';
import { headerValue, headerValues, parseMessage, type SipResponse } from './message.js';
import { createSipServer } from './server.js';

const BLOCKED_CLI = '+77017770000';
const FLAGGED_CLI = '+77017770001';
const FAILING_CLI = '+77017770002';

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

  it('answers malformed requests with 400 where it can address them, drops the rest, and still answers afterwards', async () => {
    const valid = request('INVITE');
    const truncated = await ask(valid.slice(0, valid.indexOf('Max-Forwards')));
    expect(truncated.status).toBe(400);
    const wrongLength = await ask(valid.replace('Content-Length: 0', 'Content-Length: 500'));
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
