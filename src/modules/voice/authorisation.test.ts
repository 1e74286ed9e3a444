import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablesOf } from '../../core/changes.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { tenantCalls, tenantKeys, type Tenant, type TenantCall, type TenantKey } from '../../testing/tenants.js';
import { stirRepository } from './stir/repository.js';
import type { VoiceTables } from './tables.js';

/**
 * The voice rows of the table in docs/api.md ("Who may do what"): every voice route asked by the tenants allowed
 * (anything but 401/403) and by those refused (403, or 404 where the record is not theirs to know), plus the attacks
 * issue 10 found.
 */

let t: TestApp;
let keys: Record<Tenant, TenantKey>;
/** Kinds whose ceiling holds no voice scope: even their * keys are refused every voice route. */
const OTHER_KINDS = ['police', 'police2', 'bank', 'marketplace', 'isp'] as const;
const KCELL = 'Kcell';
const BEELINE = encodeURIComponent('Beeline Kazakhstan');

type Call = TenantCall;
const { ask, expectAllowed, expectRefused } = tenantCalls(() => ({ app: t.app, keys }));

const refusedToOtherKinds = async (c: Call) => {
  for (const who of OTHER_KINDS) await expectRefused(who, c);
};

const ported = (...lines: string[]) => ['msisdn,operator,portedAt', ...lines].join('\n') + '\n';
const spoofedFromAbroad = (callingNumber: string) => ({ callingNumber, calledNumber: '+77051234567', ingress: 'international' });
const screen = async (who: Tenant, callingNumber: string) =>
  (await expectAllowed(who, { method: 'POST', url: '/api/v1/voice/screen', body: spoofedFromAbroad(callingNumber) }, 200)).json() as {
    verdict: string;
    reasons: string[];
  };

beforeAll(async () => {
  t = await startTestApp();
  keys = await tenantKeys(t);
  await expectAllowed('regulator', { method: 'PUT', url: '/api/v1/voice/range-holders/701', body: { operator: KCELL } }, 200);
  await expectAllowed('regulator', { method: 'PUT', url: '/api/v1/voice/range-holders/705', body: { operator: 'Beeline Kazakhstan' } }, 200);
  await t.relayed();
});
afterAll(() => t.close());

describe('the ported-numbers register and roaming: no number can be taken over (issue 10)', () => {
  it('POST /api/v1/voice/ported: Kcell cannot claim a Beeline number, so Beeline’s screening of a spoofed call still blocks', async () => {
    const beelines = '+77055550001';
    const claim = await ask('kcell', { method: 'POST', url: '/api/v1/voice/ported', csv: ported(`${beelines},Kcell,2026-11-01`) });
    expect(claim.statusCode).toBe(422);
    expect(claim.json().report.errors).toEqual([
      { line: 2, message: 'the number is held by another operator: an operator records only ports of numbers it holds' },
    ]);
    const roaming = await expectAllowed(
      'kcell',
      { method: 'PUT', url: '/api/v1/voice/roaming', body: [{ msisdn: beelines, roaming: true, country: 'TR' }] },
      200,
    );
    expect(roaming.json()).toMatchObject({ accepted: 0, rejected: 1 });
    await t.relayed();
    expect(await screen('beeline', beelines)).toMatchObject({ verdict: 'block', reasons: expect.arrayContaining(['SPOOFED_KZ_MOBILE_FROM_ABROAD']) });
  });

  it('POST /api/v1/voice/ported: the holder records a port of its own number (as the donor); the regulator any; other kinds never', async () => {
    // Beeline's number ported to Kcell, recorded by Beeline; then Kcell holds it and reports its roaming.
    await expectAllowed('beeline', { method: 'POST', url: '/api/v1/voice/ported', csv: ported('+77055550002,Kcell,2026-11-01') }, 200);
    await t.relayed();
    expect(
      (await expectAllowed('kcell', { method: 'PUT', url: '/api/v1/voice/roaming', body: [{ msisdn: '+77055550002', roaming: true }] }, 200)).json().accepted,
    ).toBe(1);
    // Beeline no longer holds it: it cannot record it again, nor report it.
    expect((await ask('beeline', { method: 'POST', url: '/api/v1/voice/ported', csv: ported('+77055550002,Beeline,2026-11-02') })).statusCode).toBe(422);
    expect(
      (await expectAllowed('beeline', { method: 'PUT', url: '/api/v1/voice/roaming', body: [{ msisdn: '+77055550002', roaming: true }] }, 200)).json().accepted,
    ).toBe(0);
    // A number in a range nobody holds on record: only the regulator records its port.
    const unheld = await ask('kcell', { method: 'POST', url: '/api/v1/voice/ported', csv: ported('+77085550001,Kcell,2026-11-01') });
    expect(unheld.json().report.errors[0].message).toBe('no operator holds this number on record; only the regulator records its port');
    await expectAllowed(
      'regulator',
      { method: 'POST', url: '/api/v1/voice/ported', csv: ported('+77085550001,Kcell,2026-11-01', '+77055550003,Kcell,2026-11-01') },
      200,
    );
    await refusedToOtherKinds({ method: 'POST', url: '/api/v1/voice/ported', csv: ported('+77015550009,Kcell,2026-11-01') });
  });

  it('PUT /api/v1/voice/roaming: the number’s home operator; the regulator for any number with one', async () => {
    const report = (msisdn: string): Call => ({ method: 'PUT', url: '/api/v1/voice/roaming', body: [{ msisdn, roaming: true }] });
    expect((await expectAllowed('kcell', report('+77015550001'), 200)).json().accepted).toBe(1);
    expect((await expectAllowed('beeline', report('+77015550001'), 200)).json().results[0]).toMatchObject({
      status: 'rejected',
      reason: 'not your subscriber: the number belongs to another operator',
    });
    expect((await expectAllowed('regulator', report('+77055550009'), 200)).json().accepted).toBe(1);
    await refusedToOtherKinds(report('+77015550001'));
  });
});

describe('screening policies: the default is the regulator’s, an operator reads and sets only its own (issue 10)', () => {
  const policy = { block: [], flag: [], enabled: false };

  it('PUT /api/v1/voice/policies/{operator}: Kcell’s * key cannot switch off screening for the whole country', async () => {
    const killSwitch = await expectRefused('kcell', { method: 'PUT', url: '/api/v1/voice/policies/*', body: policy });
    expect(killSwitch.json().detail).toMatch(/the default policy \* is the regulator’s/);
    await t.relayed();
    expect((await screen('beeline', '+77019990001')).verdict).toBe('block');
    await expectRefused('kcell', { method: 'PUT', url: `/api/v1/voice/policies/${BEELINE}`, body: policy });
    await expectRefused('beeline', { method: 'PUT', url: `/api/v1/voice/policies/${KCELL}`, body: policy });
    await refusedToOtherKinds({ method: 'PUT', url: '/api/v1/voice/policies/*', body: policy });
    const own = { block: ['INVALID_CLI'], flag: ['SPOOFED_KZ_MOBILE_FROM_ABROAD'], enabled: true };
    await expectAllowed('kcell', { method: 'PUT', url: `/api/v1/voice/policies/${KCELL}`, body: own }, 200);
    await expectAllowed('regulator', { method: 'PUT', url: `/api/v1/voice/policies/${BEELINE}`, body: own }, 200);
    await expectAllowed('regulator', { method: 'PUT', url: '/api/v1/voice/policies/*', body: { block: ['INVALID_CLI'], flag: [], enabled: true } }, 200);
  });

  it('GET /api/v1/voice/policies/{operator}: an operator its own; the regulator any and the default', async () => {
    await expectAllowed('kcell', { method: 'GET', url: `/api/v1/voice/policies/${KCELL}` }, 200);
    await expectRefused('kcell', { method: 'GET', url: `/api/v1/voice/policies/${BEELINE}` });
    await expectRefused('kcell', { method: 'GET', url: '/api/v1/voice/policies/*' });
    await expectAllowed('regulator', { method: 'GET', url: `/api/v1/voice/policies/${BEELINE}` }, 200);
    await expectAllowed('regulator', { method: 'GET', url: '/api/v1/voice/policies/*' }, 200);
    await refusedToOtherKinds({ method: 'GET', url: '/api/v1/voice/policies/*' });
  });
});

describe('screening', () => {
  it('POST /api/v1/voice/screen and /screen-batch: voice:screen holders, under their own policy', async () => {
    // Kcell flags what its own policy (set above) flags; Beeline, under the regulator's policy for it, the same.
    expect((await screen('kcell', '+77019990002')).verdict).toBe('flag');
    expect((await screen('regulator', '+77019990002')).verdict).toBe('allow');
    const batch: Call = { method: 'POST', url: '/api/v1/voice/screen-batch', body: { calls: [spoofedFromAbroad('+77019990002')] } };
    for (const who of ['kcell', 'beeline', 'regulator'] as const) await expectAllowed(who, batch, 200);
    await refusedToOtherKinds({ method: 'POST', url: '/api/v1/voice/screen', body: spoofedFromAbroad('+77019990002') });
    await refusedToOtherKinds(batch);
  });

  it('GET /api/v1/voice/stats: an operator its own, the regulator all', async () => {
    const stats: Call = { method: 'GET', url: '/api/v1/voice/stats' };
    expect((await expectAllowed('kcell', stats, 200)).json().operator).toBe(keys.kcell.orgId);
    expect((await expectAllowed('beeline', stats, 200)).json().operator).toBe(keys.beeline.orgId);
    expect((await expectAllowed('regulator', stats, 200)).json().operator).toBe('all');
    await refusedToOtherKinds(stats);
  });
});

describe('national reference data is the regulator’s', () => {
  it('PUT and DELETE /api/v1/voice/range-holders/{prefix}: the regulator only; GET: every voice:admin holder', async () => {
    await expectRefused('kcell', { method: 'PUT', url: '/api/v1/voice/range-holders/705', body: { operator: KCELL } });
    await refusedToOtherKinds({ method: 'PUT', url: '/api/v1/voice/range-holders/705', body: { operator: KCELL } });
    await expectRefused('beeline', { method: 'DELETE', url: '/api/v1/voice/range-holders/701' });
    await refusedToOtherKinds({ method: 'DELETE', url: '/api/v1/voice/range-holders/701' });
    await expectAllowed('regulator', { method: 'PUT', url: '/api/v1/voice/range-holders/7089', body: { operator: KCELL } }, 200);
    await expectAllowed('regulator', { method: 'DELETE', url: '/api/v1/voice/range-holders/7089' }, 204);
    for (const who of ['kcell', 'beeline', 'regulator'] as const) await expectAllowed(who, { method: 'GET', url: '/api/v1/voice/range-holders' }, 200);
    await refusedToOtherKinds({ method: 'GET', url: '/api/v1/voice/range-holders' });
  });

  it('POST and DELETE /api/v1/voice/dno: the regulator only; GET: every voice:screen holder', async () => {
    const add: Call = { method: 'POST', url: '/api/v1/voice/dno', body: { numbers: [{ number: '112', label: 'Emergency' }] } };
    await expectRefused('kcell', add);
    await refusedToOtherKinds(add);
    await expectAllowed('regulator', add, 200);
    await expectRefused('beeline', { method: 'DELETE', url: '/api/v1/voice/dno/112' });
    await refusedToOtherKinds({ method: 'DELETE', url: '/api/v1/voice/dno/112' });
    for (const who of ['kcell', 'regulator'] as const)
      expect((await expectAllowed(who, { method: 'GET', url: '/api/v1/voice/dno' }, 200)).json().items).toHaveLength(1);
    await refusedToOtherKinds({ method: 'GET', url: '/api/v1/voice/dno' });
    await expectAllowed('regulator', { method: 'DELETE', url: '/api/v1/voice/dno/112' }, 204);
  });
});

describe('trunks: an operator’s own, the regulator any', () => {
  const trunk = (addresses: string[], operator?: string) => ({ name: 'Interconnect', addresses, ingress: 'international', ...(operator ? { operator } : {}) });

  it('PUT /api/v1/voice/trunks/{id}: an operator its own trunks, on addresses no other organisation’s trunk holds', async () => {
    expect(
      (await expectAllowed('beeline', { method: 'PUT', url: '/api/v1/voice/trunks/beeline-intl', body: trunk(['10.2.7.0/24']) }, 200)).json().operatorId,
    ).toBe(keys.beeline.orgId);
    expect(
      (await expectAllowed('kcell', { method: 'PUT', url: '/api/v1/voice/trunks/kcell-intl', body: trunk(['10.1.0.0/24'], KCELL) }, 200)).json().operatorId,
    ).toBe(keys.kcell.orgId);
    // Another's trunk is not Kcell's to replace, nor another's name to put on its own; Beeline's addresses are not Kcell's to claim.
    await expectRefused('kcell', { method: 'PUT', url: '/api/v1/voice/trunks/beeline-intl', body: trunk(['10.1.0.0/24']) });
    await expectRefused('kcell', { method: 'PUT', url: '/api/v1/voice/trunks/kcell-2', body: trunk(['10.3.0.0/24'], 'Beeline Kazakhstan') });
    const takeover = await ask('kcell', { method: 'PUT', url: '/api/v1/voice/trunks/kcell-2', body: trunk(['10.2.7.1']) });
    expect(takeover.statusCode).toBe(409);
    expect(t.services.voice.index.trunkOf('10.2.7.1')?.id).toBe('beeline-intl');
    await refusedToOtherKinds({ method: 'PUT', url: '/api/v1/voice/trunks/x', body: trunk(['10.9.0.1']) });
    // The regulator configures any, with or without an operator.
    await expectAllowed('regulator', { method: 'PUT', url: '/api/v1/voice/trunks/shared-gw', body: trunk(['192.0.2.0/24']) }, 200);
    await expectAllowed(
      'regulator',
      { method: 'PUT', url: '/api/v1/voice/trunks/beeline-intl', body: trunk(['10.2.0.0/16', '10.4.0.0/16'], 'Beeline Kazakhstan') },
      200,
    );
    await expectRefused('kcell', { method: 'PUT', url: '/api/v1/voice/trunks/shared-gw', body: trunk(['192.0.2.0/24']) });
  });

  it('PUT /api/v1/voice/trunks/{id}: an operator claims no range wider than IPv4 /24 or IPv6 /48, so not every unconfigured source', async () => {
    for (const [addresses, ingress] of [
      [['0.0.0.0/0'], 'international'],
      [['::/0'], 'domestic'],
      [['10.8.0.0/23'], 'international'],
      [['2001:db8::/47'], 'domestic'],
      [['::ffff:0:0/96'], 'domestic'],
    ] as const) {
      const res = await ask('kcell', { method: 'PUT', url: '/api/v1/voice/trunks/0-kcell-all', body: { name: 'All', addresses, ingress } });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().detail).toMatch(/at most an IPv4 \/24 or an IPv6 \/48/);
    }
    expect(t.services.voice.index.trunkOf('10.0.0.1')).toBeUndefined();
    expect(t.services.voice.index.trunkOf('2001:db8::1')).toBeUndefined();
    // Beeline then claims an unconfigured source of its own.
    await expectAllowed('beeline', { method: 'PUT', url: '/api/v1/voice/trunks/beeline-sbc', body: trunk(['10.0.0.1']) }, 200);
    expect(t.services.voice.index.trunkOf('10.0.0.1')?.id).toBe('beeline-sbc');
    await expectAllowed('beeline', { method: 'DELETE', url: '/api/v1/voice/trunks/beeline-sbc' }, 204);
    // At the limit it is accepted; a more specific trunk the regulator adds later wins over it, whatever the ids' order.
    await expectAllowed('kcell', { method: 'PUT', url: '/api/v1/voice/trunks/0-kcell-wide', body: trunk(['10.8.0.0/24', '2001:db8::/48']) }, 200);
    await expectAllowed('regulator', { method: 'PUT', url: '/api/v1/voice/trunks/z-regulator-host', body: trunk(['10.8.0.9', '2001:db8::9']) }, 200);
    expect(t.services.voice.index.trunkOf('10.8.0.9')?.id).toBe('z-regulator-host');
    expect(t.services.voice.index.trunkOf('2001:db8::9')?.id).toBe('z-regulator-host');
    expect(t.services.voice.index.trunkOf('10.8.0.10')?.id).toBe('0-kcell-wide');
    // The regulator may configure any range.
    await expectAllowed('regulator', { method: 'PUT', url: '/api/v1/voice/trunks/z-regulator-all', body: trunk(['0.0.0.0/0']) }, 200);
    expect(t.services.voice.index.trunkOf('10.8.0.10')?.id).toBe('0-kcell-wide');
    expect(t.services.voice.index.trunkOf('203.0.113.1')?.id).toBe('z-regulator-all');
    for (const id of ['0-kcell-wide', 'z-regulator-host', 'z-regulator-all'])
      await expectAllowed('regulator', { method: 'DELETE', url: `/api/v1/voice/trunks/${id}` }, 204);
  });

  it('GET /api/v1/voice/trunks: an operator sees its own, the regulator all', async () => {
    const ids = async (who: Tenant) =>
      ((await expectAllowed(who, { method: 'GET', url: '/api/v1/voice/trunks' }, 200)).json().items as { id: string }[]).map((x) => x.id);
    expect(await ids('kcell')).toEqual(['kcell-intl']);
    expect(await ids('beeline')).toEqual(['beeline-intl']);
    expect(await ids('regulator')).toEqual(['beeline-intl', 'kcell-intl', 'shared-gw']);
    await refusedToOtherKinds({ method: 'GET', url: '/api/v1/voice/trunks' });
  });

  it('DELETE /api/v1/voice/trunks/{id}: an operator its own (another’s is not found), the regulator any', async () => {
    await expectRefused('kcell', { method: 'DELETE', url: '/api/v1/voice/trunks/beeline-intl' }, 404);
    await expectRefused('kcell', { method: 'DELETE', url: '/api/v1/voice/trunks/shared-gw' }, 404);
    await refusedToOtherKinds({ method: 'DELETE', url: '/api/v1/voice/trunks/beeline-intl' });
    await expectAllowed('beeline', { method: 'DELETE', url: '/api/v1/voice/trunks/beeline-intl' }, 204);
    await expectAllowed('regulator', { method: 'DELETE', url: '/api/v1/voice/trunks/kcell-intl' }, 204);
  });
});

describe('STIR/SHAKEN: trust anchors the regulator’s, certificates and credentials their owner’s', () => {
  const certificate = async (id: string, operatorId: string | null, trustAnchor = false) => {
    const now = new Date();
    await stirRepository(tablesOf<VoiceTables>(t.database.db)).insertCertificate({
      id,
      operatorId,
      trustAnchor,
      x5u: `http://localhost/api/v1/voice/stir/certificates/${id}.pem`,
      pem: `pem of ${id}`,
      fingerprint: `fp-${id}`,
      subject: `CN=${id}`,
      notBefore: now,
      notAfter: new Date(now.getTime() + 86_400_000),
      createdAt: now,
    });
  };
  const ids = {
    kcell: '00000000-0000-4000-8000-00000000c001',
    beeline: '00000000-0000-4000-8000-00000000b001',
    anchor: '00000000-0000-4000-8000-00000000a001',
    spare: '00000000-0000-4000-8000-00000000c002',
  };
  beforeAll(async () => {
    await certificate(ids.kcell, keys.kcell.orgId);
    await certificate(ids.spare, keys.kcell.orgId);
    await certificate(ids.beeline, keys.beeline.orgId);
    await certificate(ids.anchor, null, true);
  });

  it('PUT and DELETE /api/v1/voice/stir/spcs/{spc}: the regulator only; GET: every voice:admin holder', async () => {
    const assign = (spc: string, operator: string): Call => ({ method: 'PUT', url: `/api/v1/voice/stir/spcs/${spc}`, body: { operator } });
    await expectAllowed('regulator', assign('1001', KCELL), 200);
    await expectAllowed('regulator', assign('1002', 'Beeline Kazakhstan'), 200);
    // Kcell cannot make Beeline's service provider code its own, nor drop it.
    await expectRefused('kcell', assign('1002', KCELL));
    await expectRefused('kcell', { method: 'DELETE', url: '/api/v1/voice/stir/spcs/1002' });
    await refusedToOtherKinds(assign('1003', KCELL));
    await refusedToOtherKinds({ method: 'DELETE', url: '/api/v1/voice/stir/spcs/1002' });
    await expectAllowed('regulator', assign('1009', KCELL), 200);
    await expectAllowed('regulator', { method: 'DELETE', url: '/api/v1/voice/stir/spcs/1009' }, 204);
    for (const who of ['kcell', 'beeline', 'regulator'] as const)
      expect((await expectAllowed(who, { method: 'GET', url: '/api/v1/voice/stir/spcs' }, 200)).json().items).toHaveLength(2);
    await refusedToOtherKinds({ method: 'GET', url: '/api/v1/voice/stir/spcs' });
  });

  it('PUT and DELETE /api/v1/voice/stir/repositories/{host}: the regulator only; GET: every voice:admin holder', async () => {
    const allow: Call = { method: 'PUT', url: '/api/v1/voice/stir/repositories/cr.kcell.kz' };
    await expectRefused('kcell', allow);
    await refusedToOtherKinds(allow);
    await expectAllowed('regulator', allow, 200);
    await expectRefused('beeline', { method: 'DELETE', url: '/api/v1/voice/stir/repositories/cr.kcell.kz' });
    await refusedToOtherKinds({ method: 'DELETE', url: '/api/v1/voice/stir/repositories/cr.kcell.kz' });
    for (const who of ['kcell', 'regulator'] as const) await expectAllowed(who, { method: 'GET', url: '/api/v1/voice/stir/repositories' }, 200);
    await refusedToOtherKinds({ method: 'GET', url: '/api/v1/voice/stir/repositories' });
    await expectAllowed('regulator', { method: 'DELETE', url: '/api/v1/voice/stir/repositories/cr.kcell.kz' }, 204);
  });

  it('POST /api/v1/voice/stir/certificates: a certificate is uploaded by the operator its SPC names, or the regulator; a trust anchor by the regulator', async () => {
    const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'stir', 'fixtures', `${name}.pem`), 'utf8');
    const upload = (name: string, trustAnchor = false): Call => ({
      method: 'POST',
      url: '/api/v1/voice/stir/certificates',
      body: { certificate: fixture(name), trustAnchor },
    });
    expect((await expectRefused('kcell', upload('anchor', true))).json().detail).toBe('only the regulator may upload trust anchors');
    await expectAllowed('regulator', upload('anchor', true), 201);
    // operator.pem names SPC 1001 (Kcell's): Beeline cannot store it as its own, Kcell can.
    await expectRefused('beeline', upload('operator'));
    expect((await expectAllowed('kcell', upload('operator'), 201)).json().operatorId).toBe(keys.kcell.orgId);
    expect((await expectAllowed('regulator', upload('operator2'), 201)).json().operatorId).toBe(keys.beeline.orgId);
    await refusedToOtherKinds(upload('chained'));
  });

  it('POST /api/v1/voice/stir/certificates: a trust anchor by the regulator only (any PEM asked as every kind)', async () => {
    const anchor: Call = {
      method: 'POST',
      url: '/api/v1/voice/stir/certificates',
      body: { certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', trustAnchor: true },
    };
    expect((await expectRefused('kcell', anchor)).json().detail).toBe('only the regulator may upload trust anchors');
    await expectAllowed('regulator', anchor);
    await expectAllowed('kcell', { ...anchor, body: { ...(anchor.body as object), trustAnchor: false } });
    await refusedToOtherKinds({ ...anchor, body: { ...(anchor.body as object), trustAnchor: false } });
  });

  it('GET /api/v1/voice/stir/certificates: every voice:write holder (the store is public by x5u); GET …/{id}: anyone', async () => {
    for (const who of ['kcell', 'regulator'] as const) await expectAllowed(who, { method: 'GET', url: '/api/v1/voice/stir/certificates' }, 200);
    await refusedToOtherKinds({ method: 'GET', url: '/api/v1/voice/stir/certificates' });
    const pem = await t.app.inject({ method: 'GET', url: `/api/v1/voice/stir/certificates/${ids.beeline}.pem` });
    expect(pem.statusCode).not.toBe(401);
  });

  it('DELETE /api/v1/voice/stir/certificates/{id}: the owner or the regulator; a trust anchor the regulator only', async () => {
    await expectRefused('beeline', { method: 'DELETE', url: `/api/v1/voice/stir/certificates/${ids.kcell}` });
    await expectRefused('kcell', { method: 'DELETE', url: `/api/v1/voice/stir/certificates/${ids.anchor}` });
    await refusedToOtherKinds({ method: 'DELETE', url: `/api/v1/voice/stir/certificates/${ids.kcell}` });
    await expectAllowed('kcell', { method: 'DELETE', url: `/api/v1/voice/stir/certificates/${ids.kcell}` }, 204);
    await expectAllowed('regulator', { method: 'DELETE', url: `/api/v1/voice/stir/certificates/${ids.beeline}` }, 204);
    await expectAllowed('regulator', { method: 'DELETE', url: `/api/v1/voice/stir/certificates/${ids.anchor}` }, 204);
  });

  it('PUT /api/v1/voice/stir/credentials: only with the caller’s own certificate; POST /api/v1/voice/stir/sign: with its own credential', async () => {
    const credential = (certificateId: string): Call => ({
      method: 'PUT',
      url: '/api/v1/voice/stir/credentials',
      body: { certificateId, privateKey: 'not a key' },
    });
    await expectAllowed('kcell', credential(ids.spare), 422);
    await expectRefused('beeline', credential(ids.spare), 404);
    await expectRefused('regulator', credential(ids.spare), 404);
    await refusedToOtherKinds(credential(ids.spare));
    const sign: Call = { method: 'POST', url: '/api/v1/voice/stir/sign', body: { orig: '+77015550001', dest: '+77051234567', attest: 'A' } };
    // No credential stored yet: each signs only with its own, so each is told it has none.
    for (const who of ['kcell', 'beeline', 'regulator'] as const) await expectAllowed(who, sign, 409);
    await refusedToOtherKinds(sign);
  });
});
