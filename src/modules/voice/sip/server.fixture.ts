import net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect } from 'vitest';
import { waitFor } from '../../../testing/wait.js';
import type { CallToScreen, ScreeningResult } from '../screening/schema.js';
import { createSipServer } from './server.js';

/** The SIP server tests' fixture: a server whose screening answers by calling number, requests and a TCP client. */
export const BLOCKED_CLI = '+77017770000';
export const FLAGGED_CLI = '+77017770001';
export const FAILING_CLI = '+77017770002';
export const BAD_IDENTITY_FLAG_CLI = '+77017770003';
export const BAD_IDENTITY_BLOCK_CLI = '+77017770004';
/** Screening of this CLI waits until the test calls `release`. */
export const SLOW_CLI = '+77017770005';
export const slow: Array<(result: ScreeningResult) => void> = [];

export const calls: CallToScreen[] = [];
export const decisions: string[] = [];

/**
 * Starts, for the test file that calls it, a SIP server screening by calling number (above) on an ephemeral port,
 * the trunk `trunk-1` of `org-kcell` on 127.0.0.1 (trusted); returns its port once started.
 */
export function useScreeningServer(): () => number {
  let port = 0;
  const server = createSipServer({
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
    screen: async (call): Promise<ScreeningResult> => {
      calls.push(call);
      if (call.callingNumber === FAILING_CLI) throw new Error('screening broke');
      if (call.callingNumber === SLOW_CLI) return new Promise((resolve) => slow.push(resolve));
      if (call.callingNumber === BAD_IDENTITY_FLAG_CLI)
        return { verdict: 'flag', reasons: ['IDENTITY_INVALID'], identityError: { code: 438, reason: 'Invalid Identity Header' } };
      if (call.callingNumber === BAD_IDENTITY_BLOCK_CLI)
        return { verdict: 'block', reasons: ['IDENTITY_INVALID', 'INVALID_CLI'], identityError: { code: 437, reason: 'Unsupported Credential' } };
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
  return () => port;
}

export let serial = 0;
export function request(
  method: string,
  { cli = '+77021234567', extra = [] as string[], branch = `z9hG4bK-t${++serial}`, uri = 'sip:+77011234567@127.0.0.1;user=phone', transport = 'UDP' } = {},
): string {
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

/** A TCP client that collects the whole stream. */
export async function tcpClient(port: number) {
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
