import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../../core/auth/principal.js';
import type { TestApp } from '../../../testing/app.js';
import { startVoiceApp } from '../test-app.fixture.js';

let t: TestApp;
let admin: string;
let kcell: string;
let beeline: string;

beforeAll(async () => ({ t, admin, kcell, beeline } = await startVoiceApp(() => new Date('2026-11-30T10:00:00Z'))));
afterAll(() => t.close());

const screen = async (body: Record<string, unknown>, auth = kcell) =>
  t.app.inject({ method: 'POST', url: '/api/v1/voice/screen', headers: { authorization: auth }, payload: body });

describe('reference data over HTTP: roaming, ported numbers, lists, range holders, trunks', () => {
  it('rejects bad roaming rows one by one, with reasons, and keeps the good ones', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/roaming',
      headers: { authorization: kcell },
      payload: [
        { msisdn: '+77015550001', roaming: true, country: 'AE' },
        { msisdn: 'garbage', roaming: true },
        { msisdn: '+77272501234', roaming: true },
        { msisdn: '+79161234567', roaming: true },
        { msisdn: '+77015550002', roaming: true, country: 'turkey' },
        { msisdn: '+77015550001', roaming: true },
        { msisdn: '+77055550001', roaming: true },
        { msisdn: '+77075550001', roaming: true },
      ],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(1);
    expect(body.results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(body.results[6].reason).toBe('not your subscriber: the number belongs to another operator');
    expect(body.results[7].reason).toMatch(/no home operator on record/);
    // The regulator reports for the number's home operator.
    const byRegulator = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/roaming',
      headers: { authorization: admin },
      payload: [{ msisdn: '+77055550001', roaming: true }],
    });
    expect(byRegulator.json().accepted).toBe(1);
    expect(body.results[1].reason).toMatch(/not a phone number/);
    expect(body.results[2].reason).toMatch(/not a Kazakh mobile/);
    expect(body.results[3].reason).toMatch(/not a Kazakh number/);
    expect(body.results[4].reason).toMatch(/ISO 3166/);
    expect(body.results[5].reason).toMatch(/twice/);
    expect(body.results[0].msisdn).not.toContain('5550001');
    const bank = await t.services.auth.ensureOrg(systemContext('test'), { name: 'Halyk', kind: 'bank' });
    // A bank's kind holds no voice scope: even its * key is refused.
    const bankKey = `Bearer ${(await t.services.auth.createApiKey(systemContext('test'), { org: bank.name, scopes: ['*'] })).key}`;
    expect((await t.app.inject({ method: 'PUT', url: '/api/v1/voice/roaming', headers: { authorization: bankKey }, payload: [] })).statusCode).toBe(403);
  });

  it('ported numbers: the holder records a port; only the operator a number is ported to reports its roaming', async () => {
    const csv = 'msisdn,operator,portedAt\n+77016660001,Beeline,2026-10-01\n+77016660002,Nobody,2026-10-01\n';
    const refused = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/ported',
      headers: { authorization: kcell, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().report.errors).toEqual([{ line: 3, message: 'operator "Nobody" is not a known operator organisation' }]);
    // Kcell holds the 701 range: it records the port of its number to Beeline (Beeline cannot claim it).
    const claim = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/ported',
      headers: { authorization: beeline, 'content-type': 'text/csv' },
      payload: 'msisdn,operator,portedAt\n87016660001,Beeline,2026-10-01T00:00:00Z\n',
    });
    expect(claim.json().report.errors[0].message).toBe('the number is held by another operator: an operator records only ports of numbers it holds');
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/ported',
      headers: { authorization: kcell, 'content-type': 'text/csv' },
      payload: 'msisdn,operator,portedAt\n87016660001,Beeline,2026-10-01T00:00:00Z\n',
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ rows: 1, accepted: 1, committed: true });
    await t.relayed();
    const byKcell = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/roaming',
      headers: { authorization: kcell },
      payload: [{ msisdn: '+77016660001', roaming: true }],
    });
    expect(byKcell.json().results[0]).toMatchObject({ status: 'rejected', reason: 'not your subscriber: the number belongs to another operator' });
    // Once ported, the number is Beeline's: Kcell cannot take it back by itself; a number listed twice counts once.
    const takeover = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/ported',
      headers: { authorization: kcell, 'content-type': 'text/csv' },
      payload: 'msisdn,operator,portedAt\n+77016660001,Kcell,2026-11-01\n',
    });
    expect(takeover.statusCode).toBe(422);
    expect(takeover.json().report.errors[0].message).toMatch(/held by another operator/);
    const twice = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/ported',
      headers: { authorization: kcell, 'content-type': 'text/csv' },
      payload: 'msisdn,operator,portedAt\n+77016660003,Beeline,2026-10-01\n+77016660003,Beeline,2026-10-02\n',
    });
    expect(twice.statusCode).toBe(200);
    const impossible = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/ported',
      headers: { authorization: beeline, 'content-type': 'text/csv' },
      payload: 'msisdn,operator,portedAt\n+77016660004,Beeline,2026-02-30\n',
    });
    expect(impossible.json().report.errors).toEqual([{ line: 2, message: 'portedAt must be an ISO 8601 date or date-time' }]);
    expect(t.services.voice.index.homeOperator('+77016660001')).toBe((await t.services.auth.getOrg('Beeline')).id);
    const byBeeline = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/roaming',
      headers: { authorization: beeline },
      payload: [{ msisdn: '+77016660001', roaming: true }],
    });
    expect(byBeeline.json().accepted).toBe(1);
  });

  it('numbers published by intel and confirmed SIM-boxes are blocklisted by event, and withdrawn by event', async () => {
    const cli = { callingNumber: '+77475550123', calledNumber: '+77017654321', ingress: 'domestic' };
    await t.database.db.transaction().execute(async (trx) => {
      await t.services.outbox.add(trx, 'intel.indicator.published', { id: 'ind-1', kind: 'phone', value: '+77475550123' });
      await t.services.outbox.add(trx, 'traffic.simbox.confirmed', { caseId: 'sb-1', msisdn: '87085550124' });
    });
    await t.relayed();
    expect((await screen(cli, beeline)).json()).toMatchObject({ verdict: 'block', reasons: expect.arrayContaining(['BLOCKLISTED_NUMBER']) });
    expect((await screen({ ...cli, callingNumber: '+77085550124' }, beeline)).json().reasons).toContain('BLOCKLISTED_NUMBER');
    // Other topics under the same prefixes change nothing.
    await t.database.db
      .transaction()
      .execute((trx) => t.services.outbox.add(trx, 'intel.indicator.updated', { id: 'ind-1', kind: 'phone', value: '+77475550123' }));
    await t.relayed();
    expect((await screen(cli, beeline)).json().reasons).toContain('BLOCKLISTED_NUMBER');
    await t.database.db
      .transaction()
      .execute((trx) => t.services.outbox.add(trx, 'intel.indicator.withdrawn', { id: 'ind-1', kind: 'phone', value: '+77475550123' }));
    await t.relayed();
    expect((await screen(cli, beeline)).json().reasons).not.toContain('BLOCKLISTED_NUMBER');
  });

  it('lists range holders and the do-not-originate list; removes a range assignment', async () => {
    const ranges = await t.app.inject({ method: 'GET', url: '/api/v1/voice/range-holders', headers: { authorization: admin } });
    expect(ranges.json().items.map((r: { prefix: string }) => r.prefix)).toEqual(['701', '705']);
    await t.app.inject({ method: 'PUT', url: '/api/v1/voice/range-holders/7089', headers: { authorization: admin }, payload: { operator: 'Kcell' } });
    expect(
      (await t.app.inject({ method: 'PUT', url: '/api/v1/voice/range-holders/8701', headers: { authorization: admin }, payload: { operator: 'Kcell' } }))
        .statusCode,
    ).toBe(400);
    expect(
      (await t.app.inject({ method: 'PUT', url: '/api/v1/voice/range-holders/7089', headers: { authorization: kcell }, payload: { operator: 'Kcell' } }))
        .statusCode,
    ).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/voice/range-holders/7089', headers: { authorization: admin } })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/voice/range-holders/7089', headers: { authorization: admin } })).statusCode).toBe(404);
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/voice/dno',
          headers: { authorization: admin },
          payload: { numbers: [{ number: '102', label: 'Police' }] },
        })
      ).statusCode,
    ).toBe(200);
    const dno = await t.app.inject({ method: 'GET', url: '/api/v1/voice/dno', headers: { authorization: kcell } });
    expect(dno.statusCode).toBe(200);
    expect(dno.json().items).toEqual(expect.arrayContaining([expect.objectContaining({ msisdn: '102', label: 'Police' })]));
  });

  it('trunks: configured by the regulator, validated', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/trunks/kcell-intl',
      headers: { authorization: admin },
      payload: { name: 'Kcell international', operator: 'Kcell', addresses: ['10.1.0.0/16', '192.0.2.10'], ingress: 'international' },
    });
    expect(put.statusCode).toBe(200);
    await t.relayed();
    expect(t.services.voice.index.trunkOf('10.1.2.3')).toMatchObject({ id: 'kcell-intl', ingress: 'international' });
    expect(t.services.voice.index.trunkOf('192.0.2.10')?.id).toBe('kcell-intl');
    expect(t.services.voice.index.trunkOf('192.0.2.11')).toBeUndefined();
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/trunks/v6',
      headers: { authorization: admin },
      payload: { name: 'IPv6 peer', addresses: ['2001:DB8::1'], ingress: 'domestic' },
    });
    await t.relayed();
    expect(t.services.voice.index.trunkOf('2001:db8:0:0::1')?.id).toBe('v6');
    await t.app.inject({ method: 'DELETE', url: '/api/v1/voice/trunks/v6', headers: { authorization: admin } });
    const bad = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/trunks/x',
      headers: { authorization: admin },
      payload: { name: 'x', addresses: ['not-an-ip'], ingress: 'domestic' },
    });
    expect(bad.statusCode).toBe(400);
    const badIp = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/voice/trunks/x',
      headers: { authorization: admin },
      payload: { name: 'x', addresses: ['999.1.1.1', '10.0.0.0/40'], ingress: 'domestic' },
    });
    expect(badIp.statusCode).toBe(400);
    expect(badIp.json().detail).toMatch(/999\.1\.1\.1/);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/voice/trunks', headers: { authorization: admin } })).json().items).toHaveLength(1);
  });
});
