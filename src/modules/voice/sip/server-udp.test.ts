import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from '../../../testing/wait.js';
import { headerValue, headerValues, parseMessage, type SipResponse } from './message.js';
import {
  BAD_IDENTITY_BLOCK_CLI,
  BAD_IDENTITY_FLAG_CLI,
  BLOCKED_CLI,
  calls,
  decisions,
  FAILING_CLI,
  FLAGGED_CLI,
  request,
  serial,
  slow,
  SLOW_CLI,
  useScreeningServer,
} from './server.fixture.js';

const port = useScreeningServer();

/** A UDP client socket that collects every datagram it receives. */
async function udpClient() {
  const socket = dgram.createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    received,
    send: (data: string | Buffer) => new Promise<void>((resolve, reject) => socket.send(data, port(), '127.0.0.1', (err) => (err ? reject(err) : resolve()))),
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
    const text = request('INVITE', {
      extra: [
        'P-Asserted-Identity: <tel:+77029999999>',
        'Diversion: <sip:+77013333333@x>;reason=unconditional',
        'Identity: abc.def.ghi;info=<https://cert.example/c.pem>',
      ],
    });
    const res = await ask(text);
    expect(res.status).toBe(302);
    expect(res.reason).toBe('Moved Temporarily');
    expect(headerValue(res.headers, 'contact')).toBe('<sip:+77011234567@127.0.0.1;user=phone>');
    expect(headerValue(res.headers, 'x-qalqan-verdict')).toBe('allow');
    expect(headerValue(res.headers, 'x-qalqan-reasons')).toBeUndefined();
    expect(headerValues(res.headers, 'via')).toEqual([
      `SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-t${serial};rport`,
      'SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK-upstream',
    ]);
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
    const list = await ask(
      request('OPTIONS').replace(/^(Via: SIP\/2\.0\/UDP) 127\.0\.0\.1:5999(;branch=[^;]+);rport/m, '$1 [::1]:5999$2, SIP/2.0/UDP 10.0.0.7'),
    );
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
