import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toImei15 } from '../../identifiers/imei.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { tenantCalls, tenantKeys, type Tenant, type TenantCall, type TenantKey } from '../../testing/tenants.js';
import { kzDay } from './network/days.js';
import { imei14, kzImsi, TAC } from './network/fixtures.js';

/**
 * The devices rows of the table in docs/api.md ("Who may do what"): every devices route asked by the tenants allowed
 * (anything but 401/403) and by those refused (403, or 404 where the record is not theirs to know), plus the attacks
 * issue 10 found.
 */

let t: TestApp;
let keys: Record<Tenant, TenantKey>;
/** Observations of today: a trace alert needs a sighting on or after the day of the block (the database's clock). */
const today = kzDay(new Date());
const imei = (serial: number) => toImei15(imei14(serial));
const OTHER_TAC = '35290611';
/** An IMSI of Kcell's network (401-02; `kzImsi` gives Beeline's, 401-01). */
const kcellImsi = (n: number) => '40102' + String(n).padStart(10, '0');

type Call = TenantCall;
const { ask, expectAllowed, expectRefused } = tenantCalls(() => ({ app: t.app, keys }));

const observations = (...lines: string[]) => ['date,imei,imsi,msisdn,rat', ...lines].join('\n') + '\n';
const block = (serial: number): Call => ({ method: 'POST', url: '/api/v1/devices/stolen', body: { imei: imei(serial), caseNumber: `KUI-${serial}` } });
const unblock = (serial: number): Call => ({ method: 'DELETE', url: `/api/v1/devices/stolen/${imei(serial)}` });
const publicStatus = async (serial: number) => (await t.app.inject({ method: 'GET', url: `/api/v1/public/imei/${imei(serial)}` })).json().status as string;

beforeAll(async () => {
  t = await startTestApp();
  keys = await tenantKeys(t);
  const tacs = `tac|manufacturer|model_name\n${TAC}|Apple|iPhone 14\n${OTHER_TAC}|Samsung|Galaxy S23\n`;
  await expectAllowed('regulator', { method: 'POST', url: '/api/v1/devices/tac-imports', csv: tacs }, 200);
});
afterAll(() => t.close());

describe('national reference data is the regulator’s', () => {
  it('POST /api/v1/devices/tac-imports: an operator cannot wipe the TAC database (issue 10)', async () => {
    const wipe: Call = { method: 'POST', url: '/api/v1/devices/tac-imports', csv: `tac|manufacturer|model_name\n11111111|X|One\n22222222|Y|Two\n` };
    await expectRefused('kcell', wipe);
    await expectRefused('kcell', { ...wipe, url: `${wipe.url}?mode=delta` });
    for (const who of ['police', 'bank', 'marketplace', 'isp'] as const) await expectRefused(who, wipe);
    // Every other phone is still known.
    await expectAllowed('kcell', { method: 'GET', url: `/api/v1/devices/tac/${OTHER_TAC}` }, 200);
    await expectAllowed(
      'regulator',
      { method: 'POST', url: '/api/v1/devices/tac-imports?mode=delta', csv: `tac,manufacturer,model_name\n86753003,Xiaomi,Redmi Note 12\n` },
      200,
    );
  });

  it('GET /api/v1/devices/tac/{tac}: every devices:read holder', async () => {
    const lookup: Call = { method: 'GET', url: `/api/v1/devices/tac/${TAC}` };
    for (const who of ['regulator', 'kcell', 'police'] as const) await expectAllowed(who, lookup, 200);
    for (const who of ['bank', 'marketplace', 'isp'] as const) await expectRefused(who, lookup);
  });

  it('POST /api/v1/devices/orders and DELETE /api/v1/devices/orders/{imei}: the regulator only', async () => {
    const order: Call = { method: 'POST', url: '/api/v1/devices/orders', body: { imei: imei(90), orderRef: 'COURT-1' } };
    const lift: Call = { method: 'DELETE', url: `/api/v1/devices/orders/${imei(90)}` };
    for (const who of ['police', 'kcell', 'bank'] as const) await expectRefused(who, order);
    await expectAllowed('regulator', order, 201);
    for (const who of ['police', 'kcell', 'bank'] as const) await expectRefused(who, lift);
    await expectAllowed('regulator', lift, 204);
  });

  it('POST /api/v1/devices/classify: the regulator only', async () => {
    const classify: Call = { method: 'POST', url: '/api/v1/devices/classify' };
    await expectAllowed('regulator', classify, 200);
    for (const who of ['kcell', 'police', 'bank'] as const) await expectRefused(who, classify);
  });

  it('GET /api/v1/devices/conditions[/{name}]: devices:read holders; PUT: the regulator only', async () => {
    for (const url of ['/api/v1/devices/conditions', '/api/v1/devices/conditions/duplicate']) {
      for (const who of ['regulator', 'kcell', 'police'] as const) await expectAllowed(who, { method: 'GET', url }, 200);
      for (const who of ['bank', 'isp'] as const) await expectRefused(who, { method: 'GET', url });
    }
    const current = (await ask('regulator', { method: 'GET', url: '/api/v1/devices/conditions/tac_unknown' })).json();
    const { name: _name, ...settings } = current;
    const put: Call = { method: 'PUT', url: '/api/v1/devices/conditions/tac_unknown', body: settings };
    for (const who of ['kcell', 'beeline', 'police', 'bank'] as const) await expectRefused(who, put);
    await expectAllowed('regulator', put, 200);
  });
});

describe('mobile networks (whose IMSIs an operator may pair) are the regulator’s', () => {
  const assign = (plmn: string, operator: string): Call => ({ method: 'PUT', url: `/api/v1/devices/networks/${plmn}`, body: { operator } });
  const unassign = (plmn: string): Call => ({ method: 'DELETE', url: `/api/v1/devices/networks/${plmn}` });

  it('PUT and DELETE /api/v1/devices/networks/{plmn}: the regulator only, audited', async () => {
    for (const who of ['kcell', 'beeline', 'police', 'bank', 'isp'] as const) await expectRefused(who, assign('40102', 'Kcell'));
    expect((await expectAllowed('regulator', assign('40102', 'Kcell'), 200)).json()).toEqual({ plmn: '40102', operatorId: keys.kcell.orgId });
    await expectAllowed('regulator', assign('40101', 'Beeline Kazakhstan'), 200);
    await expectAllowed('regulator', assign('40177', 'Kcell'), 200);
    for (const who of ['kcell', 'beeline', 'police', 'bank'] as const) await expectRefused(who, unassign('40177'));
    await expectAllowed('regulator', unassign('40177'), 204);
    expect((await ask('regulator', unassign('40177'))).statusCode).toBe(404);
    expect((await ask('regulator', assign('4010', 'Kcell'))).statusCode).toBe(400);
    expect((await ask('regulator', assign('310410', 'Kcell'))).statusCode).toBe(200);
    expect((await ask('regulator', assign('31041', 'Kcell'))).statusCode).toBe(400);
    await expectAllowed('regulator', unassign('310410'), 204);
    expect((await ask('regulator', assign('40108', 'Police Cyber Unit'))).statusCode).toBe(404);
    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['action', 'subject'])
      .where('action', 'like', 'devices.network.%')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => `${a.action} ${a.subject}`)).toEqual([
      'devices.network.assign 40102',
      'devices.network.assign 40101',
      'devices.network.assign 40177',
      'devices.network.unassign 40177',
      'devices.network.assign 310410',
      'devices.network.unassign 310410',
    ]);
  });

  it('GET /api/v1/devices/networks: every devices:read holder', async () => {
    const list: Call = { method: 'GET', url: '/api/v1/devices/networks' };
    for (const who of ['regulator', 'kcell', 'beeline', 'police'] as const) {
      expect((await expectAllowed(who, list, 200)).json().items).toEqual([
        { plmn: '40101', operatorId: keys.beeline.orgId },
        { plmn: '40102', operatorId: keys.kcell.orgId },
      ]);
    }
    for (const who of ['bank', 'marketplace', 'isp'] as const) await expectRefused(who, list);
  });
});

describe('registrations', () => {
  it('POST /api/v1/devices/registrations: operators for their subscribers, the regulator for importers and grandfathered devices', async () => {
    const register = (serial: number, source: string): Call => ({
      method: 'POST',
      url: '/api/v1/devices/registrations',
      body: { imeis: [imei(serial)], source },
    });
    expect((await expectAllowed('kcell', register(1, 'individual'), 200)).json().registered).toBe(1);
    await expectAllowed('beeline', register(2, 'service_centre'), 200);
    await expectAllowed('regulator', register(3, 'importer'), 200);
    await expectAllowed('regulator', register(4, 'grandfathered'), 200);
    await expectRefused('kcell', register(5, 'importer'));
    await expectRefused('kcell', register(5, 'grandfathered'));
    for (const who of ['police', 'bank', 'marketplace', 'isp'] as const) await expectRefused(who, register(5, 'individual'));
  });

  it('POST /api/v1/devices/registrations/import: the regulator, on behalf of importers and customs', async () => {
    const file: Call = { method: 'POST', url: '/api/v1/devices/registrations/import', csv: `imei,reference\n${imei(10)},DT-1\n` };
    for (const who of ['kcell', 'police', 'bank'] as const) await expectRefused(who, file);
    expect((await expectAllowed('regulator', file, 200)).json()).toMatchObject({ committed: true, accepted: 1 });
  });
});

describe('lost and stolen blocks (issue 10)', () => {
  it('POST /api/v1/devices/stolen: police and the regulator; an operator cannot block', async () => {
    // No operator key holds devices:block: not its * key, and none can be made with it.
    const grant = await ask('regulator', { method: 'POST', url: '/api/v1/orgs/Kcell/api-keys', body: { scopes: ['devices:block'] } });
    expect([grant.statusCode, grant.json().scopesBeyondKind]).toEqual([422, ['devices:block']]);
    for (const who of ['kcell', 'beeline', 'bank', 'marketplace', 'isp'] as const) await expectRefused(who, block(20));
    expect(await publicStatus(20)).not.toBe('blocked');
    await expectAllowed('police', block(20), 201);
    await expectAllowed('police2', block(21), 201);
    // Blocking it again: the maker and the regulator see the block's case; another police unit only that it is blocked.
    expect((await expectAllowed('police', block(20), 200)).json()).toMatchObject({ caseNumber: 'KUI-20', alreadyBlocked: true });
    expect((await expectAllowed('regulator', block(20), 200)).json()).toMatchObject({ caseNumber: 'KUI-20', alreadyBlocked: true });
    const other = await expectAllowed('police2', { ...block(20), body: { imei: imei(20), caseNumber: 'ALM-1' } }, 409);
    expect(other.body).not.toContain('KUI-20');
    await expectAllowed('regulator', block(22), 201);
  });

  it('the block’s source is the caller’s kind, never hard-coded', async () => {
    await t.relayed();
    const rows = await t.database.db
      .selectFrom('devices_stolen')
      .select(['imei14', 'source', 'org_id'])
      .where('imei14', 'in', [imei14(20), imei14(22)])
      .orderBy('imei14')
      .execute();
    expect(rows).toEqual([
      { imei14: imei14(20), source: 'police', org_id: keys.police.orgId },
      { imei14: imei14(22), source: 'regulator', org_id: keys.regulator.orgId },
    ]);
  });

  it('DELETE /api/v1/devices/stolen/{imei}: the organisation that blocked it or the regulator; another police unit cannot', async () => {
    await expectRefused('police2', unblock(20));
    await expectRefused('kcell', unblock(20));
    expect(await publicStatus(20)).toBe('blocked');
    await expectAllowed('police', unblock(20), 204);
    await expectRefused('police', unblock(21));
    await expectAllowed('regulator', unblock(21), 204);
    await expectRefused('police', unblock(22));
    await expectAllowed('regulator', unblock(22), 204);
  });
});

describe('checks', () => {
  it('POST /api/v1/devices/imei-batch and the N5g-eir equipment status: every devices:check holder', async () => {
    const batch: Call = { method: 'POST', url: '/api/v1/devices/imei-batch', body: { imeis: [imei(1)] } };
    const eir: Call = { method: 'GET', url: `/n5g-eir-eic/v1/equipment-status?pei=imei-${imei(1)}` };
    for (const who of ['regulator', 'kcell', 'police', 'bank', 'marketplace'] as const) {
      await expectAllowed(who, batch, 200);
      await expectAllowed(who, eir, 200);
    }
    await expectRefused('isp', batch);
    await expectRefused('isp', eir);
  });

  it('GET /api/v1/public/imei/{imei}: anyone, without a credential', async () => {
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/public/imei/${imei(1)}` })).statusCode).toBe(200);
  });
});

describe('operators’ own data', () => {
  it('POST /api/v1/devices/observations: an operator uploads its own network’s; the regulator names any operator', async () => {
    const file = (serial: number): Call => ({
      method: 'POST',
      url: '/api/v1/devices/observations',
      csv: observations(`${today},${imei14(serial)}0,${kzImsi(serial)},,LTE`),
    });
    await expectAllowed('kcell', file(30), 200);
    await expectAllowed('kcell', { ...file(31), url: `/api/v1/devices/observations?operator=${keys.kcell.orgId}` }, 200);
    await expectRefused('kcell', { ...file(32), url: `/api/v1/devices/observations?operator=${encodeURIComponent('Beeline Kazakhstan')}` });
    await expectAllowed('regulator', { ...file(33), url: `/api/v1/devices/observations?operator=${encodeURIComponent('Beeline Kazakhstan')}` }, 200);
    for (const who of ['police', 'bank', 'isp'] as const) await expectRefused(who, file(34));
  });

  it('GET /api/v1/devices/lists/{kind}: an operator its own lists, the regulator any operator’s', async () => {
    const list = (query = ''): Call => ({ method: 'GET', url: `/api/v1/devices/lists/notification${query}` });
    await expectAllowed('kcell', list(), 200);
    await expectAllowed('beeline', { method: 'GET', url: '/api/v1/devices/lists/black' }, 200);
    await expectRefused('kcell', list(`?operator=${encodeURIComponent('Beeline Kazakhstan')}`));
    await expectAllowed('regulator', list('?operator=Kcell'), 200);
    for (const who of ['police', 'bank', 'isp'] as const) await expectRefused(who, list());
  });

  it('POST and DELETE /api/v1/devices/pairings: an operator its own networks’ IMSIs, the regulator any; a pairing is removed by the one that made it or the regulator', async () => {
    const add = (serial: number, imsi = kcellImsi(serial)): Call => ({ method: 'POST', url: '/api/v1/devices/pairings', body: { imei: imei(serial), imsi } });
    const remove = (serial: number, imsi = kcellImsi(serial)): Call => ({
      method: 'DELETE',
      url: `/api/v1/devices/pairings?imei=${imei(serial)}&imsi=${imsi}`,
    });
    await expectAllowed('kcell', add(40), 201);
    await expectAllowed('regulator', add(41), 201);
    for (const who of ['police', 'bank', 'isp'] as const) await expectRefused(who, add(42));
    await expectRefused('beeline', remove(40), 404);
    await expectRefused('kcell', remove(41), 404);
    await expectAllowed('kcell', remove(40), 204);
    await expectAllowed('regulator', remove(41), 204);
    await expectAllowed('kcell', add(43), 201);
    await expectAllowed('regulator', remove(43), 204);
    for (const who of ['police', 'bank'] as const) await expectRefused(who, remove(43));
  });

  it('an operator cannot pair another operator’s subscriber (issue 10), nor an IMSI of a network no one holds; the regulator can', async () => {
    const add = (serial: number, imsi: string): Call => ({ method: 'POST', url: '/api/v1/devices/pairings', body: { imei: imei(serial), imsi } });
    const refused = await expectRefused('kcell', add(44, kzImsi(44)));
    expect(refused.json().detail).toContain('network 40101');
    await expectRefused('beeline', add(45, kcellImsi(45)));
    expect(
      await t.database.db
        .selectFrom('devices_pairings')
        .select('imei14')
        .where('imei14', 'in', [imei14(44), imei14(45)])
        .execute(),
    ).toEqual([]);
    await expectAllowed('beeline', add(44, kzImsi(44)), 201);
    await expectAllowed('regulator', add(46, kzImsi(46)), 201);

    const roamer = '25099' + '0000000047';
    const unheld = await ask('kcell', add(47, roamer));
    expect([unheld.statusCode, unheld.headers['content-type']]).toEqual([422, expect.stringContaining('application/problem+json')]);
    expect(unheld.json().detail).toContain('PUT /api/v1/devices/networks/25099');
    await expectAllowed('regulator', add(47, roamer), 201);
  });

  it('GET /api/v1/devices/stats: devices:read holders; observations per operator are the regulator’s, an operator sees its own', async () => {
    const stats: Call = { method: 'GET', url: '/api/v1/devices/stats' };
    const operators = async (who: Tenant) =>
      ((await expectAllowed(who, stats, 200)).json().observationsPerOperator as { operator: string }[]).map((o) => o.operator).sort();
    expect(await operators('regulator')).toEqual(['Beeline Kazakhstan', 'Kcell']);
    expect(await operators('kcell')).toEqual(['Kcell']);
    expect(await operators('police')).toEqual([]);
    for (const who of ['bank', 'isp'] as const) await expectRefused(who, stats);
  });
});

describe('trace alerts', () => {
  it('GET /api/v1/devices/trace-alerts: police see the alerts of their own blocks, the regulator all', async () => {
    await expectAllowed('police', block(50), 201);
    await expectAllowed('police2', block(51), 201);
    const seen = observations(`${today},${imei14(50)}0,${kzImsi(50)},,LTE`, `${today},${imei14(51)}0,${kzImsi(51)},,LTE`);
    await expectAllowed('kcell', { method: 'POST', url: '/api/v1/devices/observations', csv: seen }, 200);
    const alerts: Call = { method: 'GET', url: '/api/v1/devices/trace-alerts' };
    const imeis = async (who: Tenant) => ((await expectAllowed(who, alerts, 200)).json().items as { imei: string }[]).map((a) => a.imei).sort();
    expect(await imeis('police')).toEqual([imei(50)]);
    expect(await imeis('police2')).toEqual([imei(51)]);
    expect(await imeis('regulator')).toEqual([imei(50), imei(51)]);
    for (const who of ['kcell', 'bank', 'isp'] as const) await expectRefused(who, alerts);
  });
});

describe('the table covers every devices operation', () => {
  it('each devices operation of /openapi.json is tested in this file and has its row in docs/api.md', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { tags?: string[] }>> };
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => op.tags?.some((tag) => tag === 'devices' || tag === 'N5g-eir') || path.startsWith('/api/v1/public/imei'))
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(ops.sort()).toEqual(
      [
        'POST /api/v1/devices/tac-imports',
        'GET /api/v1/devices/tac/{tac}',
        'POST /api/v1/devices/registrations',
        'POST /api/v1/devices/registrations/import',
        'POST /api/v1/devices/stolen',
        'DELETE /api/v1/devices/stolen/{imei}',
        'POST /api/v1/devices/orders',
        'DELETE /api/v1/devices/orders/{imei}',
        'POST /api/v1/devices/imei-batch',
        'GET /api/v1/public/imei/{imei}',
        'GET /api/v1/devices/stats',
        'POST /api/v1/devices/observations',
        'POST /api/v1/devices/classify',
        'GET /api/v1/devices/lists/{kind}',
        'GET /api/v1/devices/trace-alerts',
        'POST /api/v1/devices/pairings',
        'DELETE /api/v1/devices/pairings',
        'GET /api/v1/devices/networks',
        'PUT /api/v1/devices/networks/{plmn}',
        'DELETE /api/v1/devices/networks/{plmn}',
        'GET /api/v1/devices/conditions',
        'GET /api/v1/devices/conditions/{name}',
        'PUT /api/v1/devices/conditions/{name}',
        'GET /n5g-eir-eic/v1/equipment-status',
      ].sort(),
    );
    const table = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    for (const op of ops) expect(table, op).toContain(`| \`${op}\` |`);
  });
});
