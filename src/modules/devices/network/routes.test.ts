import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toImei15 } from '../../../identifiers/imei.js';
import { startTestApp, type TestApp } from '../../../testing/app.js';
import { imei14, kzImsi, msisdn, seed, TAC, testClock } from './fixtures.js';

const HEADER = 'date,imei,imsi,msisdn,rat';
const time = testClock('2026-03-10');
let t: TestApp;
let kcell: { authorization: string };
let beeline: { authorization: string };
let regulator: { authorization: string };
let policeA: { authorization: string };
let policeB: { authorization: string };
let policeAId: string;

const row = (n: number, day = '2026-03-09') => `${day},${imei14(n)}0,${kzImsi(n)},${msisdn(n)},4G`;
const upload = (auth: { authorization: string }, body: string | Buffer, query = '', type = 'text/csv') =>
  t.app.inject({ method: 'POST', url: `/api/v1/devices/observations${query}`, headers: { ...auth, 'content-type': type }, payload: body });
const observationCount = async () =>
  Number(
    (
      await t.database.db
        .selectFrom('devices_observations')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

beforeAll(async () => {
  t = await startTestApp({ clock: time.clock });
  kcell = await t.keyWith(['devices:write', 'devices:read'], 'Kcell', 'operator');
  beeline = await t.keyWith(['devices:write', 'devices:read'], 'Beeline', 'operator');
  regulator = await t.keyWith(['devices:write', 'devices:read']);
  policeA = await t.keyWith(['devices:block'], 'Police A', 'police');
  policeB = await t.keyWith(['devices:block'], 'Police B', 'police');
  policeAId = (await t.services.auth.getOrg('Police A')).id;
  await seed(t.database.db).tacs(TAC);
});
afterAll(async () => t.close());

describe('POST /api/v1/devices/observations', () => {
  it('imports the caller’s observations and reports malformed rows by line', async () => {
    const lines = Array.from({ length: 299 }, (_, i) => row(i + 1));
    const res = await upload(kcell, [HEADER, ...lines.slice(0, 10), '2026-03-09,12AB,401011,,4G', ...lines.slice(10)].join('\n'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      committed: true,
      rows: 300,
      accepted: 299,
      rejected: 1,
      errors: [{ line: 12, message: 'imei has characters other than digits' }],
      newPairs: 299,
    });
    expect(res.json().classification).toMatchObject({ examined: 299, grey: 299 });
  });

  it('refuses a file with too many malformed rows and changes nothing', async () => {
    const before = await observationCount();
    const res = await upload(kcell, [HEADER, row(500), '2026-13-01,1,2,3,4', row(501)].join('\n'));
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 422, report: { committed: false, rows: 3, rejected: 1, errors: [{ line: 3 }] } });
    expect(await observationCount()).toBe(before);
  });

  it('answers 422 for a wrong header, a truncated file or non-UTF-8 bytes, 415 for JSON', async () => {
    const wrong = await upload(kcell, 'date,imei,imsi\n' + row(600));
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().detail).toMatch(/line 1: the header lacks column\(s\) msisdn, rat/);
    expect(wrong.json().report).toMatchObject({ committed: false, refusal: expect.stringMatching(/^line 1: the header lacks/) });
    const truncated = await upload(kcell, [HEADER, row(601), `2026-03-09,${imei14(602)}0,"${kzImsi(602)}`].join('\n'));
    expect(truncated.statusCode).toBe(422);
    expect(truncated.json().detail).toMatch(/quote/i);
    const bytes = Buffer.concat([Buffer.from([HEADER, row(603), ''].join('\n')), Buffer.from([0x32, 0x30, 0xff, 0xfe, 0x0a])]);
    const latin = await upload(kcell, bytes);
    expect(latin.statusCode).toBe(422);
    expect(latin.json().report.errors).toEqual([{ line: 3, message: 'not valid UTF-8' }]);
    expect(
      await t.database.db
        .selectFrom('devices_observations')
        .select('imei14')
        .where('imei14', 'in', [imei14(600), imei14(601), imei14(603)])
        .execute(),
    ).toEqual([]);
    const json = await upload(kcell, '{}', '', 'application/json');
    expect(json.statusCode).toBe(415);
  });

  it('lets an operator act only for itself; the regulator names the operator', async () => {
    expect((await upload(kcell, [HEADER, row(700)].join('\n'), '?operator=Beeline')).statusCode).toBe(403);
    expect((await upload(regulator, [HEADER, row(700)].join('\n'))).statusCode).toBe(400);
    expect((await upload(regulator, [HEADER, row(700)].join('\n'), '?operator=Nobody')).statusCode).toBe(404);
    expect((await upload(regulator, [HEADER, `2026-03-09,${imei14(700)}0,${kzImsi(700)},${msisdn(701)},4G`].join('\n'), '?operator=Beeline')).statusCode).toBe(
      200,
    );
  });
});

describe('GET /api/v1/devices/lists/{kind}', () => {
  const get = (auth: { authorization: string }, url: string) => t.app.inject({ method: 'GET', url: `/api/v1/devices/lists/${url}`, headers: auth });

  it('streams the full list and the delta as CSV with the version, and keeps operators apart', async () => {
    const full = await get(kcell, 'notification');
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-type']).toMatch(/^text\/csv/);
    const version = Number(full.headers['x-list-version']);
    expect(version).toBeGreaterThan(0);
    const lines = full.body.trimEnd().split('\n');
    expect(lines[0]).toBe('imei,imsi,msisdn,reason');
    expect(lines).toContain(`${toImei15(imei14(1))},${kzImsi(1)},+${msisdn(1)},not_registered;deadline=2026-04-09`);
    expect(lines).toHaveLength(300);

    const theirs = await get(beeline, 'notification');
    expect(theirs.body.trimEnd().split('\n')).toEqual([
      'imei,imsi,msisdn,reason',
      `${toImei15(imei14(700))},${kzImsi(700)},+${msisdn(701)},not_registered;deadline=2026-04-09`,
    ]);
    expect((await get(beeline, 'notification?since=0')).body).not.toContain(msisdn(1));
    expect((await get(beeline, 'notification?operator=Kcell')).statusCode).toBe(403);
    expect((await get(regulator, 'notification?operator=Kcell')).body).toBe(full.body);

    const delta = await get(kcell, `notification?since=${version}`);
    expect(delta.body).toBe('change,imei,imsi,msisdn,reason,version\n');
    expect(delta.headers['x-list-version']).toBe(String(version));
    expect((await get(kcell, 'grey')).statusCode).toBe(400);
  });
});

describe('trace alerts', () => {
  it('go only to the police organisation that blocked the device, carry the block’s case number, and every read is audited', async () => {
    const stolen = imei14(900);
    await t.database.db
      .insertInto('devices_stolen')
      .values({ imei14: stolen, case_number: 'A-1', source: 'police', org_id: policeAId, blocked_at: new Date('2026-03-01T00:00:00Z') })
      .execute();
    const res = await upload(beeline, [HEADER, `2026-03-09,${stolen}0,${kzImsi(900)},${msisdn(900)},4G`].join('\n'));
    expect(res.json().traceAlerts).toBe(1);

    const a = await t.app.inject({ method: 'GET', url: '/api/v1/devices/trace-alerts', headers: policeA });
    expect(a.statusCode).toBe(200);
    expect(a.json()).toMatchObject({
      items: [{ imei: toImei15(stolen), operatorName: 'Beeline', imsi: kzImsi(900), msisdn: `+${msisdn(900)}`, seenOn: '2026-03-09', caseNumber: 'A-1' }],
      nextCursor: null,
    });
    const b = await t.app.inject({ method: 'GET', url: '/api/v1/devices/trace-alerts', headers: policeB });
    expect(b.json().items).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/trace-alerts', headers: kcell })).statusCode).toBe(403);

    const audit = await t.database.db.selectFrom('audit_log').selectAll().where('action', '=', 'devices.trace.read').execute();
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ subject_type: 'msisdn', subject: '+7701***0900' });
    expect(JSON.stringify(audit)).not.toContain(msisdn(900));
  });
});

describe('pairings, conditions and classification', () => {
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, auth: { authorization: string }, payload?: object) =>
    t.app.inject({ method, url: `/api/v1/devices/${url}`, headers: auth, payload });

  it('adds and removes pairings of the caller’s own networks', async () => {
    const body = { imei: toImei15(imei14(5)), imsi: '401020000000005' };
    const unknown = await call('POST', 'pairings', kcell, body);
    expect([unknown.statusCode, unknown.json().detail]).toEqual([422, expect.stringContaining('PUT /api/v1/devices/networks/40102')]);
    expect((await call('PUT', 'networks/40102', regulator, { operator: 'Kcell' })).statusCode).toBe(200);
    expect((await call('POST', 'pairings', beeline, body)).statusCode).toBe(403);
    expect((await call('POST', 'pairings', kcell, body)).statusCode).toBe(201);
    expect((await call('POST', 'pairings', kcell, body)).json()).toEqual({ ...body, created: false });
    expect((await call('POST', 'pairings', kcell, { ...body, imei: imei14(5) + '9' })).statusCode).toBe(400);
    const query = `pairings?imei=${body.imei}&imsi=${body.imsi}`;
    expect((await call('DELETE', query, kcell)).statusCode).toBe(204);
    expect((await call('DELETE', query, kcell)).statusCode).toBe(404);
  });

  it('shows conditions and lets only the regulator change them or classify', async () => {
    expect((await call('GET', 'conditions', kcell)).json().items).toHaveLength(6);
    const nr = (await call('GET', 'conditions/not_registered', kcell)).json();
    expect(nr).toEqual({ name: 'not_registered', blocking: true, graceDays: 30, sticky: false, enabled: true, params: {} });
    expect((await call('GET', 'conditions/nonsense', kcell)).statusCode).toBe(404);
    const settings = { blocking: true, graceDays: 45, sticky: false, enabled: true, params: {} };
    expect((await call('PUT', 'conditions/not_registered', kcell, settings)).statusCode).toBe(403);
    expect((await call('PUT', 'conditions/nonsense', regulator, settings)).statusCode).toBe(404);
    expect((await call('PUT', 'conditions/not_registered', regulator, settings)).json()).toEqual({ name: 'not_registered', ...settings });
    const duplicate = { blocking: true, graceDays: 0, sticky: false, enabled: true, params: { maxImsis: 3, windowDays: 30 } };
    for (const absurd of [{ params: { maxImsis: 1e300, windowDays: 30 } }, { params: { maxImsis: 3, windowDays: 1e6 } }, { graceDays: 1e300 }]) {
      const refused = await call('PUT', 'conditions/duplicate', regulator, { ...duplicate, ...absurd });
      expect(refused.statusCode).toBe(400);
      expect(refused.headers['content-type']).toContain('application/problem+json');
    }
    expect((await call('POST', 'classify', kcell)).statusCode).toBe(403);
    const run = await call('POST', 'classify', regulator);
    expect(run.statusCode).toBe(200);
    expect(run.json()).toMatchObject({ grey: 300, changed: 300 });
  });

  it('documents every route in the OpenAPI description', async () => {
    const paths = Object.keys((await t.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths);
    for (const path of [
      '/api/v1/devices/observations',
      '/api/v1/devices/lists/{kind}',
      '/api/v1/devices/trace-alerts',
      '/api/v1/devices/pairings',
      '/api/v1/devices/conditions/{name}',
    ])
      expect(paths).toContain(path);
  });
});
