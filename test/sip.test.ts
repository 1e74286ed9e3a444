import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSipp, sippAvailable } from '../bench/voice-sip.js';
import { createSipServer } from '../src/modules/voice/sip/server.js';
import type { CallToScreen, ScreeningResult } from '../src/modules/voice/index.js';

/**
 * The SIP redirect server against sipp (Debian package sip-tester) with the scenarios in test/sip. Without sipp the
 * tests skip, except in CI, where they fail.
 */

const BLOCKED_CLI = '+77017770000';
const RETRANSMITTED_CLI = '+77017771111';
const available = sippAvailable();
if (!available && process.env.CI) throw new Error('sipp is not installed; CI needs it: apt-get install -y sip-tester (see .ci/run)');
if (!available) console.warn('test/sip.test.ts skipped: sipp is not installed (apt-get install -y sip-tester)');

const screened = new Map<string, number>();
const server = createSipServer({
  host: '127.0.0.1',
  port: 0,
  logger: pino({ level: 'silent' }),
  screen: (call: CallToScreen): ScreeningResult => {
    screened.set(call.callingNumber, (screened.get(call.callingNumber) ?? 0) + 1);
    if (call.callingNumber === BLOCKED_CLI) return { verdict: 'block', reasons: ['SPOOFED_KZ_MOBILE_FROM_ABROAD'] };
    // The load scenario calls from +7701<call number>: block a tenth of them.
    if (call.callingNumber.startsWith('+7701') && call.callingNumber.endsWith('7')) return { verdict: 'block', reasons: ['DO_NOT_ORIGINATE'] };
    return { verdict: 'allow', reasons: [] };
  },
  trunkOf: () => undefined,
  trusted: () => true,
  defaultIngress: 'international',
});
let target = '';

describe.skipIf(!available)('SIP redirect server under sipp', () => {
  beforeAll(async () => {
    const { udpPort } = await server.start();
    target = `127.0.0.1:${udpPort}`;
  });
  afterAll(() => server.stop());

  const called = ['-s', '+77011234567'];

  it.each([
    ['UDP', []],
    ['TCP', ['-t', 't1']],
  ])('lets allowed calls through with 302 over %s', async (_transport, transport) => {
    const r = await runSipp('uac_allow.xml', target, [...called, '-key', 'cli', '+77021234567', '-r', '50', '-m', '20', ...transport]);
    expect(r, r.output).toMatchObject({ exitCode: 0, successful: 20, failed: 0 });
  });

  it('blocks a call from the blocked CLI with 603 and a Reason header', async () => {
    const r = await runSipp('uac_block.xml', target, [...called, '-key', 'cli', BLOCKED_CLI, '-r', '50', '-m', '10']);
    expect(r, r.output).toMatchObject({ exitCode: 0, successful: 10, failed: 0 });
    expect(screened.get(BLOCKED_CLI)).toBe(10);
  });

  it('answers OPTIONS with 200', async () => {
    const r = await runSipp('uac_options.xml', target, ['-r', '50', '-m', '5']);
    expect(r, r.output).toMatchObject({ exitCode: 0, successful: 5, failed: 0 });
  });

  it('answers a retransmitted INVITE with the identical response and decides it once', async () => {
    const r = await runSipp('uac_retransmission.xml', target, [...called, '-key', 'cli', RETRANSMITTED_CLI, '-r', '20', '-m', '10'], { messages: true });
    expect(r, r.output).toMatchObject({ exitCode: 0, successful: 10, failed: 0 });
    expect(screened.get(RETRANSMITTED_CLI)).toBe(10);
    // Every call received two answers, byte for byte the same.
    const answers = new Map<string, string[]>();
    for (const block of r.messages.split(/^-{20,}.*$/m)) {
      if (!block.includes('message received')) continue;
      const message = block.slice(block.indexOf(':\n') + 2).trim();
      const callId = /^Call-ID:\s*(.+)$/m.exec(message)?.[1] ?? '';
      answers.set(callId, [...(answers.get(callId) ?? []), message]);
    }
    expect(answers.size).toBe(10);
    for (const [callId, messages] of answers) {
      expect(messages, callId).toHaveLength(2);
      expect(messages[0]).toMatch(/^SIP\/2\.0 302 Moved Temporarily/);
      expect(messages[1]).toBe(messages[0]);
    }
  });

  it('takes 200 calls/s for 3 s with no failed call and no retransmission', async () => {
    const r = await runSipp('uac_bench.xml', target, [...called, '-r', '200', '-m', '600']);
    expect(r, r.output).toMatchObject({ exitCode: 0, successful: 600, failed: 0, retransmissions: 0 });
  });
});
