import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineIO } from './cli/io.js';
import { systemContext } from './core/auth/principal.js';
import { DEMO_ADMIN_EMAIL, loadDemo } from './demo.js';
import { DEMO_BLACK_IMEI, DEMO_GREY_IMEI, DEMO_REGISTERED, DEMO_STOLEN_IMEI } from './modules/devices/index.js';
import { DEMO_ROAMER, DEMO_SPOOFED_CLI } from './modules/voice/index.js';
import { startTestApp, type TestApp } from './testing/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('demo data', () => {
  it('is idempotent, safe when two instances load it at once, and yields the admin password once', async () => {
    const lines: string[] = [];
    const io = lineIO((_kind, line) => lines.push(line));
    const results = await Promise.all([loadDemo(t.services, io, { stirCredentials: true }), loadDemo(t.services, io, { stirCredentials: true })]);
    expect(results.filter((p) => p !== null)).toHaveLength(1);
    expect(await loadDemo(t.services, io)).toBeNull();
    const orgs = await t.services.auth.listOrgs(systemContext('test'));
    expect(orgs.map((o) => o.kind).sort()).toEqual(expect.arrayContaining(['bank', 'isp', 'marketplace', 'operator', 'police', 'regulator']));
    expect(new Set(orgs.map((o) => o.name)).size).toBe(orgs.length);
    expect(await t.services.auth.countUsers()).toBe(1);
    expect(lines.some((l) => l.startsWith('demo: '))).toBe(true);
    const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: DEMO_ADMIN_EMAIL, password: results.find((p) => p)! } });
    expect(login.statusCode).toBe(200);
    expect(lines).toContain('Voice demo: a signed call from a Kcell subscriber abroad → allow, attestation A');
    expect(lines.some((l) => /^Voice demo: a spoofed Kazakh CLI from abroad → block \(SPOOFED_KZ_MOBILE_FROM_ABROAD/.test(l))).toBe(true);
  });

  it('includes voice: roamers, ported numbers, a DNO list, trunks, a signing credential; a signed and a spoofed call', async () => {
    await t.relayed();
    const v = t.services.voice.index;
    expect(v.isRoaming(DEMO_ROAMER)).toBe(true);
    expect(v.isDoNotOriginate('102')).toBe(true);
    expect(v.trunkOf('192.0.2.7')).toMatchObject({ id: 'demo-intl-gw', ingress: 'international' });
    expect(await t.services.voice.reference.portedCount()).toBe(2);
    const kcell = (await t.services.auth.getOrg('Kcell')).id;
    const spoofed = t.services.voice.screening.screen({ callingNumber: DEMO_SPOOFED_CLI, calledNumber: '+77017654321', ingress: 'international' }, kcell);
    expect(spoofed).toMatchObject({ verdict: 'block' });
    const stats = await t.database.db.selectFrom('voice_stats_daily').select(['verdict', 'reason']).where('reason', '=', '*').execute();
    expect(stats.map((s) => s.verdict).sort()).toEqual(['allow', 'block']);
  });

  it('includes devices: a TAC sample, registered phones and one stolen phone', async () => {
    await t.relayed();
    const check = async (imei: string) => (await t.app.inject({ method: 'GET', url: `/api/v1/public/imei/${imei}` })).json();
    expect(await check(DEMO_REGISTERED[0]!)).toMatchObject({ status: 'registered', brand: 'Apple' });
    expect(await check(DEMO_STOLEN_IMEI)).toMatchObject({ status: 'blocked' });
    expect(await check(DEMO_GREY_IMEI)).toMatchObject({ status: 'unregistered' });
    expect(await check(DEMO_BLACK_IMEI)).toMatchObject({ status: 'blocked' });
    const alerts = await t.database.db.selectFrom('devices_trace_alerts').select(['imsi']).execute();
    expect(alerts).toEqual([{ imsi: '401021000000004' }]);
    const grey = await t.database.db
      .selectFrom('devices_classification')
      .select(['status', 'deadline'])
      .where('imei14', '=', DEMO_GREY_IMEI.slice(0, 14))
      .executeTakeFirstOrThrow();
    expect(grey.status).toBe('grey');
  });
});
