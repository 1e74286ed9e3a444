import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../testing/app.js';
import { imeiOf } from '../../../testing/imei.js';
import { REJECT_TEXT, type RejectReason } from './registration.js';

let t: TestApp;
let writer: string;
let police: string;
beforeAll(async () => {
  t = await startTestApp();
  writer = (await t.keyWith(['devices:write', 'devices:read'])).authorization;
  police = (await t.keyWith(['devices:block'], 'Police Cyber', 'police')).authorization;
});
afterAll(() => t.close());

const post = (url: string, body: string | Buffer, type = 'text/csv') =>
  t.app.inject({ method: 'POST', url, headers: { authorization: writer, 'content-type': type }, payload: body });

const tac = async (code: string) => {
  const res = await t.app.inject({ method: 'GET', url: `/api/v1/devices/tac/${code}`, headers: { authorization: writer } });
  return res.statusCode === 200 ? (res.json() as { manufacturer: string; modelName: string }) : null;
};

const publicCheck = async (imei: string) => (await t.app.inject({ method: 'GET', url: `/api/v1/public/imei/${imei}` })).json();

const registered = async () => (await t.database.db.selectFrom('devices_registrations').select('imei14').execute()).map((r) => r.imei14).sort();

describe('TAC imports through the ingest pipeline', () => {
  it('a full import replaces the database and a delta upserts; a TAC listed twice takes its later line', async () => {
    const full = await post('/api/v1/devices/tac-imports', 'tac|manufacturer|model_name\n11111111|A|Old\n22222222|B|Two\n11111111|A|New\n');
    expect(full.json()).toMatchObject({ rows: 3, accepted: 3, rejected: 0, committed: true });
    expect(await tac('11111111')).toMatchObject({ manufacturer: 'A', modelName: 'New' });

    const delta = await post('/api/v1/devices/tac-imports?mode=delta', 'tac,manufacturer,model_name\n33333333,C,First\n22222222,B,Updated\n33333333,C,Last\n');
    expect(delta.json()).toMatchObject({ rows: 3, accepted: 3, committed: true });
    expect(await tac('33333333')).toMatchObject({ modelName: 'Last' });
    expect(await tac('22222222')).toMatchObject({ modelName: 'Updated' });
    expect(await tac('11111111')).toMatchObject({ modelName: 'New' });

    const replace = await post('/api/v1/devices/tac-imports', 'tac|manufacturer|model_name\n44444444|D|Only\n');
    expect(replace.json()).toMatchObject({ accepted: 1, committed: true });
    expect(await tac('11111111')).toBeNull();
    expect(await tac('33333333')).toBeNull();
    expect(await tac('44444444')).toMatchObject({ manufacturer: 'D' });
    // The EIR knows the new database before the import answers.
    expect((await publicCheck(imeiOf('44444444', 1))).tacKnown).toBe(true);
  });

  it('a gzip file, pipe-delimited, is read after gunzip (its delimiter chosen from the header)', async () => {
    const file = gzipSync('tac|manufacturer|model_name|bands|allocation_date|device_type\n35332811|Apple|iPhone 14|LTE, NR|2022-09-01|Smartphone\n');
    const res = await post('/api/v1/devices/tac-imports?mode=delta', file, 'application/octet-stream');
    expect(res.json()).toMatchObject({ rows: 1, accepted: 1, committed: true });
    expect(await tac('35332811')).toEqual({
      tac: '35332811',
      manufacturer: 'Apple',
      modelName: 'iPhone 14',
      bands: 'LTE, NR',
      allocationDate: '2022-09-01',
      deviceType: 'Smartphone',
    });
  });

  it('a refused import (a wrong header, a bad row) leaves the previous database untouched', async () => {
    const before = await t.database.db.selectFrom('devices_tac').selectAll().orderBy('tac').execute();
    const header = await post('/api/v1/devices/tac-imports', 'code|maker\n55555555|X\n');
    expect(header.statusCode).toBe(422);
    expect(header.json().report).toMatchObject({
      committed: false,
      refusal: 'line 1: the header lacks column(s) tac, manufacturer, model_name; found: code, maker',
    });
    const bad = await post('/api/v1/devices/tac-imports', 'tac|manufacturer|model_name\n55555555|X|Y\n5555|X|Y\n');
    expect(bad.json().report).toMatchObject({ committed: false, errors: [{ line: 3, message: 'tac "5555" is not 8 digits' }] });
    expect(await t.database.db.selectFrom('devices_tac').selectAll().orderBy('tac').execute()).toEqual(before);
  });
});

describe('registration imports through the ingest pipeline', () => {
  const reject = (line: number, reason: RejectReason) => ({ line, message: `${reason}: ${REJECT_TEXT[reason]}` });

  it('rejects by line, for the reasons and in the words of the API, and registers the rest', async () => {
    await post('/api/v1/devices/tac-imports?mode=delta', 'tac,manufacturer,model_name\n35290611,Samsung,Galaxy S23\n');
    const ok = imeiOf('35332811', 1);
    const stolen = imeiOf('35290611', 3);
    const earlier = imeiOf('35290611', 4);
    await t.app.inject({ method: 'POST', url: '/api/v1/devices/stolen', headers: { authorization: police }, payload: { imei: stolen, caseNumber: 'KUI-1' } });
    const api = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/registrations',
      headers: { authorization: writer },
      payload: { imeis: [earlier], source: 'individual' },
    });
    expect(api.json().registered).toBe(1);
    const badCheck = ok.slice(0, 14) + String((Number(ok[14]) + 1) % 10);
    const lines = [ok, imeiOf('35290611', 2), ok, badCheck, '12345', imeiOf('99999999', 1), stolen, earlier];
    const res = await post('/api/v1/devices/registrations/import', ['imei,reference', ...lines.map((imei) => `${imei},DT-9`)].join('\n') + '\n');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ rows: 8, accepted: 2, rejected: 6, committed: true });
    expect(res.json().errors).toEqual([
      reject(4, 'DUPLICATE_IN_REQUEST'),
      reject(5, 'INVALID_CHECK_DIGIT'),
      reject(6, 'INVALID_FORMAT'),
      reject(7, 'TAC_UNKNOWN'),
      reject(8, 'REPORTED_STOLEN'),
      reject(9, 'ALREADY_REGISTERED'),
    ]);
    const row = await t.database.db.selectFrom('devices_registrations').selectAll().where('imei14', '=', ok.slice(0, 14)).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ imei: ok, source: 'importer', reference: 'DT-9' });
    // The importing instance's EIR has the new status before the import answers.
    expect((await publicCheck(ok)).status).toBe('registered');
  });

  it('a duplicate is found across merge slices (PGlite merges 5,000 rows at a time)', async () => {
    const first = imeiOf('35290611', 100);
    const unknown = imeiOf('99999999', 2);
    const fill = Array.from({ length: 5_100 }, (_, i) => `${imeiOf('35290611', 1_000 + i)},DT-10`);
    const rows = ['imei,reference', `${first},DT-10`, `${unknown},DT-10`, ...fill, `${first},DT-10`, `${unknown},DT-10`];
    const res = await post('/api/v1/devices/registrations/import', rows.join('\n') + '\n');
    expect(res.json()).toMatchObject({ rows: 5_104, accepted: 5_101, rejected: 3, committed: true });
    expect(res.json().errors).toEqual([reject(3, 'TAC_UNKNOWN'), reject(5_104, 'DUPLICATE_IN_REQUEST'), reject(5_105, 'DUPLICATE_IN_REQUEST')]);
  });

  it('a refused file registers nothing', async () => {
    const before = await registered();
    const res = await post('/api/v1/devices/registrations/import', `serial,reference\n${imeiOf('35290611', 9_000)},DT-11\n`);
    expect(res.statusCode).toBe(422);
    expect(res.json().report).toMatchObject({ committed: false, refusal: expect.stringContaining('line 1: the header lacks column(s) imei') });
    expect(await registered()).toEqual(before);
  });
});
