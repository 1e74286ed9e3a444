import { createSocket } from 'node:dgram';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../../core/auth/principal.js';
import type { TestApp } from '../../../testing/app.js';
import { fromAbroad, operatorKey as operatorKeyOf, startVoiceApp } from '../test-app.fixture.js';

let t: TestApp;
let now = new Date('2026-11-30T10:00:00Z');
let admin: string;
let kcell: string;
let beeline: string;

beforeAll(async () => ({ t, admin, kcell, beeline } = await startVoiceApp(() => now)));
afterAll(() => t.close());

const operatorKey = (name: string, scopes: string[]) => operatorKeyOf(t, name, scopes);
const screen = async (body: Record<string, unknown>, auth = kcell) =>
  t.app.inject({ method: 'POST', url: '/api/v1/voice/screen', headers: { authorization: auth }, payload: body });

describe('call screening over HTTP and SIP', () => {
  it('blocks a spoofed Kazakh mobile CLI from abroad until the operator reports the subscriber roaming, and again after expiry', async () => {
    const spoofed = await screen(fromAbroad('+77019876543'));
    expect(spoofed.statusCode).toBe(200);
    expect(spoofed.json()).toMatchObject({ verdict: 'block', reasons: expect.arrayContaining(['SPOOFED_KZ_MOBILE_FROM_ABROAD']) });

    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/roaming',
      headers: { authorization: kcell },
      payload: [{ msisdn: '+7 701 987 65 43', roaming: true, country: 'TR' }],
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ accepted: 1, rejected: 0, ttlSeconds: 86400 });
    await t.relayed();
    expect((await screen(fromAbroad('87019876543'))).json().reasons).not.toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');

    now = new Date(now.getTime() + 25 * 3_600_000);
    expect((await screen(fromAbroad('+77019876543'))).json().reasons).toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');

    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/roaming',
      headers: { authorization: kcell },
      payload: { entries: [{ msisdn: '+77019876543', roaming: true }] },
    });
    await t.relayed();
    expect((await screen(fromAbroad('+77019876543'))).json().verdict).not.toBe('block');
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/roaming',
      headers: { authorization: kcell },
      payload: [{ msisdn: '+77019876543', roaming: false }],
    });
    await t.relayed();
    expect((await screen(fromAbroad('+77019876543'))).json().verdict).toBe('block');
  });

  it('a malformed number is a verdict; a request without required fields is a 400 problem', async () => {
    expect((await screen(fromAbroad('not a number'))).json()).toEqual({ verdict: 'block', reasons: ['INVALID_CLI'] });
    expect((await screen(fromAbroad('9'.repeat(60)))).json().verdict).toBe('block');
    const missing = await screen({ callingNumber: '+77011234567' });
    expect(missing.statusCode).toBe(400);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    const badIngress = await screen({ ...fromAbroad('+77011234567'), ingress: 'moon' });
    expect(badIngress.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/voice/screen', payload: fromAbroad('+77011234567') })).statusCode).toBe(401);
    expect((await screen(fromAbroad('+77011234567'), await operatorKey('Tele2', ['devices:check']))).statusCode).toBe(403);
  });

  it('screens a batch in order, at most 1,000 calls', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/screen-batch',
      headers: { authorization: kcell },
      payload: { calls: [fromAbroad('+74951234567'), fromAbroad('+77272501234'), fromAbroad('x')] },
    });
    // A Kazakh landline CLI from abroad is blocked by the default policy.
    expect(res.json().results.map((r: { verdict: string }) => r.verdict)).toEqual(['allow', 'block', 'block']);
    const tooMany = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/screen-batch',
      headers: { authorization: kcell },
      payload: { calls: Array.from({ length: 1001 }, () => fromAbroad('+74951234567')) },
    });
    expect(tooMany.statusCode).toBe(400);
  });

  it('the do-not-originate list and policies change verdicts at run time; the default policy off is the kill switch', async () => {
    const hotline = { callingNumber: '+77272596000', calledNumber: '+77017654321', ingress: 'domestic' };
    expect((await screen(hotline)).json().reasons).not.toContain('DO_NOT_ORIGINATE');
    const add = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/dno',
      headers: { authorization: admin },
      payload: {
        numbers: [
          { number: '+7 727 259 60 00', label: 'Halyk Bank hotline' },
          { number: '102', label: 'Police' },
          { number: '87272596000', label: 'Halyk Bank hotline' },
        ],
      },
    });
    expect(add.json()).toEqual({ added: ['+77272596000', '102'] });
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/voice/dno',
          headers: { authorization: kcell },
          payload: { numbers: [{ number: '102', label: 'x' }] },
        })
      ).statusCode,
    ).toBe(403);
    await t.relayed();
    expect((await screen(hotline)).json()).toMatchObject({ verdict: 'block', reasons: expect.arrayContaining(['DO_NOT_ORIGINATE']) });
    expect((await screen({ ...hotline, callingNumber: '102' })).json().reasons).toEqual(['INVALID_CLI', 'DO_NOT_ORIGINATE']);

    const lenient = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/policies/Kcell',
      headers: { authorization: admin },
      payload: { block: [], flag: ['DO_NOT_ORIGINATE'], enabled: true },
    });
    expect(lenient.json()).toMatchObject({ flag: ['DO_NOT_ORIGINATE'], isDefault: false });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/voice/policies/Kcell', headers: { authorization: admin } })).json()).toMatchObject({
      isDefault: false,
    });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/voice/policies/Nobody', headers: { authorization: admin } })).statusCode).toBe(404);
    await t.relayed();
    expect((await screen(hotline)).json().verdict).toBe('flag');
    expect((await screen(hotline, beeline)).json().verdict).toBe('block');
    // An operator switches a reason from block to flag for its own calls during an incident, and back.
    const beelineAdmin = await operatorKey('Beeline', ['voice:admin', 'voice:screen']);
    const incident = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/policies/Beeline',
      headers: { authorization: beelineAdmin },
      payload: { block: [], flag: ['DO_NOT_ORIGINATE'], enabled: true },
    });
    expect(incident.statusCode).toBe(200);
    await t.relayed();
    expect((await screen(hotline, beeline)).json().verdict).toBe('flag');
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: '/api/v1/voice/policies/Kcell',
          headers: { authorization: beelineAdmin },
          payload: { block: [], flag: [], enabled: false },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: '/api/v1/voice/policies/*',
          headers: { authorization: beelineAdmin },
          payload: { block: [], flag: [], enabled: false },
        })
      ).statusCode,
    ).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/voice/policies/Kcell', headers: { authorization: beelineAdmin } })).statusCode).toBe(403);
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/policies/Beeline',
      headers: { authorization: beelineAdmin },
      payload: {
        block: ['DO_NOT_ORIGINATE', 'INVALID_CLI', 'SPOOFED_KZ_MOBILE_FROM_ABROAD', 'KZ_GEOGRAPHIC_FROM_ABROAD', 'BLOCKLISTED_NUMBER', 'IDENTITY_INVALID'],
        flag: [],
        enabled: true,
      },
    });
    await t.relayed();
    expect((await screen(hotline, beeline)).json().verdict).toBe('block');
    const bad = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/policies/*',
      headers: { authorization: admin },
      payload: { block: ['NOPE'], flag: [], enabled: true },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/^unknown reason\(s\): NOPE; known: SPOOFED_KZ_MOBILE_FROM_ABROAD, /);
    // A body of 20,000 bogus reasons is refused by its size, with a small answer (was a 400 listing every one).
    const bogus = Array.from({ length: 20_000 }, (_, i) => `BOGUS_REASON_${i}`);
    const flood = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/policies/*',
      headers: { authorization: admin },
      payload: { block: bogus, flag: bogus, enabled: true },
    });
    expect(flood.statusCode).toBe(400);
    expect(flood.body.length).toBeLessThan(2_000);
    expect(flood.json().detail).toMatch(/must NOT have more than 7 items/);
    // Called without HTTP's bounds, the service still names at most 20 unknown reasons, then how many more.
    const unbounded = t.services.voice.screening.putPolicy(systemContext('test'), '*', { block: bogus, flag: [], enabled: true });
    await expect(unbounded).rejects.toThrow(/^unknown reason\(s\): BOGUS_REASON_0, (BOGUS_REASON_\d+, ){18}BOGUS_REASON_19 and 19980 more; known: /);
    const long = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/policies/*',
      headers: { authorization: admin },
      payload: { block: ['X'.repeat(100_000)], flag: [], enabled: true },
    });
    expect(long.statusCode).toBe(400);
    expect(long.body.length).toBeLessThan(2_000);

    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/policies/*',
      headers: { authorization: admin },
      payload: { block: ['DO_NOT_ORIGINATE'], flag: [], enabled: false },
    });
    await t.relayed();
    expect((await screen(hotline, beeline)).json()).toMatchObject({ verdict: 'allow', reasons: expect.arrayContaining(['DO_NOT_ORIGINATE']) });
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/policies/*',
      headers: { authorization: admin },
      payload: {
        block: ['DO_NOT_ORIGINATE', 'INVALID_CLI', 'SPOOFED_KZ_MOBILE_FROM_ABROAD', 'KZ_GEOGRAPHIC_FROM_ABROAD', 'BLOCKLISTED_NUMBER', 'IDENTITY_INVALID'],
        flag: [],
        enabled: true,
      },
    });
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/voice/dno/%2B77272596000', headers: { authorization: admin } })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/voice/dno/%2B77272596000', headers: { authorization: admin } })).statusCode).toBe(404);
    await t.relayed();
    expect((await screen(hotline, beeline)).json().reasons).not.toContain('DO_NOT_ORIGINATE');
  });

  it('counts calls by verdict and reason: Prometheus counters, daily stats, sampled voice.call.blocked events with masked numbers', async () => {
    const stats = await t.app.inject({ method: 'GET', url: `/api/v1/voice/stats?from=2026-11-01&to=2026-12-31`, headers: { authorization: kcell } });
    expect(stats.statusCode).toBe(200);
    const days = stats.json().days as { day: string; calls: { block: number }; blockedByReason: Record<string, number> }[];
    expect(days.reduce((n, d) => n + d.calls.block, 0)).toBeGreaterThan(3);
    expect(days.reduce((n, d) => n + (d.blockedByReason.SPOOFED_KZ_MOBILE_FROM_ABROAD ?? 0), 0)).toBeGreaterThanOrEqual(3);
    const all = await t.app.inject({ method: 'GET', url: '/api/v1/voice/stats?from=2026-11-01&to=2026-12-31', headers: { authorization: admin } });
    expect(all.json().operator).toBe('all');
    for (const q of ['to=2026-13-45', 'from=2026-02-30&to=2026-03-01', 'from=2026-12-02&to=2026-12-01']) {
      const bad = await t.app.inject({ method: 'GET', url: `/api/v1/voice/stats?${q}`, headers: { authorization: admin } });
      expect(bad.statusCode, q).toBe(400);
    }
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: admin } });
    expect(metrics.body).toMatch(/qalqan_voice_calls_total\{verdict="block",reason="SPOOFED_KZ_MOBILE_FROM_ABROAD",trunk="api",operator="[0-9a-f-]+"\} \d+/);
    const events = await sql<{ payload: Record<string, unknown> }>`select payload from core_outbox where topic = 'voice.call.blocked'`.execute(t.database.db);
    expect(events.rows.length).toBeGreaterThan(0);
    for (const e of events.rows) expect(JSON.stringify(e.payload)).not.toMatch(/\+7701987654|9876543/);
  });

  it('the SIP redirect server screens with the same service: 603 with the reason for a spoofed CLI, 302 for a roamer', async () => {
    const sip = t.services.voice.sip({ host: '127.0.0.1', port: 0, trusted: ['127.0.0.1'], defaultIngress: 'domestic' });
    const roaming = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/roaming',
      headers: { authorization: kcell },
      payload: [{ msisdn: '+77015550001', roaming: true, country: 'TR' }],
    });
    expect(roaming.json()).toMatchObject({ accepted: 1 });
    const { udpPort } = await sip.start();
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const invite = (from: string, branch: string) =>
      [
        'INVITE sip:+77017654321@qalqan.test;user=phone SIP/2.0',
        `Via: SIP/2.0/UDP 127.0.0.1:${socket.address().port};branch=z9hG4bK-${branch}`,
        `From: <sip:${from}@carrier.example>;tag=a${branch}`,
        'To: <sip:+77017654321@qalqan.test>',
        `Call-ID: ${branch}@test`,
        'CSeq: 1 INVITE',
        'Max-Forwards: 70',
        'X-Qalqan-Ingress: international',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    const ask = (message: string) =>
      new Promise<string>((resolve) => {
        socket.once('message', (m) => resolve(m.toString()));
        socket.send(message, udpPort, '127.0.0.1');
      });
    try {
      const blocked = await ask(invite('+77019990001', 'spoof1'));
      expect(blocked).toMatch(/^SIP\/2\.0 603 Decline/);
      expect(blocked).toContain('Reason: SIP;cause=603;text="SPOOFED_KZ_MOBILE_FROM_ABROAD"');
      const roamer = await ask(invite('+77015550001', 'roam1'));
      expect(roamer).toMatch(/^SIP\/2\.0 302 Moved Temporarily/);
      expect(roamer).toMatch(/Contact: <sip:\+77017654321@qalqan\.test;user=phone>/);
    } finally {
      socket.close();
      await sip.stop();
    }
  });

  it('over a real socket: screening answers as through inject; a bad body is a 400 problem, a key without the scope a 403', async () => {
    const post = (body: string, authorization = kcell) => ({
      method: 'POST' as const,
      url: '/api/v1/voice/screen',
      headers: { authorization, 'content-type': 'application/json' },
      body,
    });
    const comparable = (body: string) => ({ ...(JSON.parse(body) as Record<string, unknown>), requestId: undefined });
    const calls = [
      fromAbroad('+77019876543'),
      fromAbroad('+79161234567'),
      fromAbroad('+77272501234'),
      { callingNumber: 'anonymous', calledNumber: '102', ingress: 'domestic' },
    ];
    for (const call of calls) {
      const viaRoute = await screen(call);
      const http = await t.overHttp(post(JSON.stringify(call)));
      expect([http.statusCode, http.headers.get('content-type'), JSON.parse(http.body)]).toEqual([200, viaRoute.headers['content-type'], viaRoute.json()]);
    }
    const refused = [
      '{"callingNumber": ',
      JSON.stringify({ callingNumber: '+77019876543', ingress: 'international' }),
      '{"__proto__": {"x": 1}, "callingNumber": "+77019876543", "calledNumber": "+77017654321", "ingress": "domestic"}',
      JSON.stringify({ ...fromAbroad('+77019876543'), extra: 1 }),
    ];
    for (const body of refused) {
      const viaRoute = await t.app.inject({
        method: 'POST',
        url: '/api/v1/voice/screen',
        headers: { authorization: kcell, 'content-type': 'application/json' },
        payload: body,
      });
      const http = await t.overHttp(post(body));
      expect(viaRoute.statusCode).toBe(400);
      expect([http.statusCode, http.headers.get('content-type'), comparable(http.body)]).toEqual([
        400,
        viaRoute.headers['content-type'],
        comparable(viaRoute.body),
      ]);
    }
    const withoutScope = await operatorKey('Lane Reader', ['voice:write']);
    const forbidden = await t.overHttp(post(JSON.stringify(fromAbroad('+77019876543')), withoutScope));
    expect(forbidden.statusCode).toBe(403);
    expect(JSON.parse(forbidden.body)).toMatchObject({ status: 403, requiredScope: 'voice:screen' });
  });
});
