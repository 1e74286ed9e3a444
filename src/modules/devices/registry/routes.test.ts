import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../../testing/app.js';
import { imeiOf } from '../../../testing/imei.js';

const TAC_FILE = readFileSync(join(import.meta.dirname, 'testdata/tac-sample.txt'));

let t: TestApp;
let writer: string;
let police: string;
beforeAll(async () => {
  t = await startTestApp();
  // The regulator keeps the TAC database and registers importers' devices.
  writer = (await t.keyWith(['devices:write', 'devices:read', 'devices:check'])).authorization;
  police = (await t.keyWith(['devices:block'], 'Police Cyber', 'police')).authorization;
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/devices/tac-imports',
    headers: { authorization: writer, 'content-type': 'text/plain' },
    payload: TAC_FILE,
  });
  expect(res.json()).toMatchObject({ committed: true, accepted: 4 });
});
afterAll(() => t.close());

const csv = (url: string, body: string | Buffer, auth = writer) =>
  t.app.inject({ method: 'POST', url, headers: { authorization: auth, 'content-type': 'text/csv' }, payload: body });

describe('TAC database', () => {
  it('imports the GSMA pipe-delimited file (extra columns ignored) and looks a TAC up', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/35332811', headers: { authorization: writer } });
    expect(res.json()).toEqual({
      tac: '35332811',
      manufacturer: 'Apple',
      modelName: 'iPhone 14',
      bands: 'GSM 850/900/1800/1900, LTE, NR',
      allocationDate: '2022-09-01',
      deviceType: 'Smartphone',
    });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/99999999', headers: { authorization: writer } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/abc', headers: { authorization: writer } })).statusCode).toBe(400);
  });

  it('a delta in CSV adds and updates without removing the rest', async () => {
    const res = await csv('/api/v1/devices/tac-imports?mode=delta', 'tac,manufacturer,model_name\n35875309,Nokia,105 4G\n01234567,Test,Phone\n');
    expect(res.json()).toMatchObject({ rows: 2, accepted: 2, committed: true });
    const nokia = await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/35875309', headers: { authorization: writer } });
    expect(nokia.json().modelName).toBe('105 4G');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/35332811', headers: { authorization: writer } })).statusCode).toBe(200);
  });

  it('takes a gzip body and the client’s Import-Id, under which the import is then recorded', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/tac-imports?mode=delta',
      headers: { authorization: writer, 'content-type': 'text/csv', 'content-encoding': 'gzip', 'import-id': 'tac-2026-12-07' },
      payload: gzipSync('tac|manufacturer|model_name\n35875309|Nokia|105 4G\n'),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ importId: 'tac_2026_12_07', committed: true, accepted: 1 });
    const record = await t.app.inject({ method: 'GET', url: '/api/v1/imports/tac_2026_12_07', headers: { authorization: writer } });
    expect(record.json()).toMatchObject({ id: 'tac_2026_12_07', kind: 'devices.tac', status: 'committed', rows: 1, accepted: 1 });
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/tac-imports?mode=delta',
      headers: { authorization: writer, 'content-type': 'text/csv', 'import-id': 'Not An Id' },
      payload: 'tac,manufacturer,model_name\n35875311,Nokia,107\n',
    });
    expect(again.statusCode).toBe(400);
  });

  it('bad rows refuse the whole import with line numbers, and change nothing', async () => {
    const res = await csv('/api/v1/devices/tac-imports', 'tac|manufacturer|model_name\n11111111|A|B\n12ab|X|Y\n22222222||Z\n');
    expect(res.statusCode).toBe(422);
    expect(res.json().report.errors).toEqual([
      { line: 3, message: 'tac "12ab" is not 8 digits' },
      { line: 4, message: 'manufacturer and model_name are required' },
    ]);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/11111111', headers: { authorization: writer } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/35332811', headers: { authorization: writer } })).statusCode).toBe(200);
  });

  it('a wrong header is refused (422) naming the missing columns; a truncated quote and bad UTF-8 are refused', async () => {
    const header = await csv('/api/v1/devices/tac-imports', 'code,maker,model\n1,2,3\n');
    expect(header.statusCode).toBe(422);
    expect(header.json().report).toMatchObject({
      committed: false,
      refusal: expect.stringContaining('line 1: the header lacks column(s) tac, manufacturer, model_name'),
    });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/devices/tac/35332811', headers: { authorization: writer } })).statusCode).toBe(200);
    const truncated = await csv('/api/v1/devices/tac-imports', 'tac,manufacturer,model_name\n33333333,"Acme,Phone\n');
    expect(truncated.statusCode).toBe(422);
    const latin1 = await csv(
      '/api/v1/devices/tac-imports?mode=delta',
      Buffer.concat([Buffer.from('tac,manufacturer,model_name\n44444444,'), Buffer.from([0xc4, 0x70]), Buffer.from(',X\n')]),
    );
    expect(latin1.statusCode).toBe(422);
    expect(latin1.json().report.errors[0]).toEqual({ line: 2, message: 'not valid UTF-8' });
  });
});

describe('registration', () => {
  it('checks every IMEI and says why one is rejected', async () => {
    const ok1 = imeiOf('35332811', 1);
    const ok2 = imeiOf('35290611', 2);
    const stolen = imeiOf('35290611', 3);
    await t.app.inject({ method: 'POST', url: '/api/v1/devices/stolen', headers: { authorization: police }, payload: { imei: stolen, caseNumber: 'KUI-1' } });
    const badCheck = ok1.slice(0, 14) + String((Number(ok1[14]) + 1) % 10);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/registrations',
      headers: { authorization: writer },
      payload: { imeis: [ok1, ok2, ok1, badCheck, '12345', imeiOf('99999999', 1), stolen], source: 'importer', reference: 'DT-2026-0001' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().results.map((r: { result: string; reason?: string }) => r.reason ?? r.result)).toEqual([
      'registered',
      'registered',
      'DUPLICATE_IN_REQUEST',
      'INVALID_CHECK_DIGIT',
      'INVALID_FORMAT',
      'TAC_UNKNOWN',
      'REPORTED_STOLEN',
    ]);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/registrations',
      headers: { authorization: writer },
      payload: { imeis: [ok1], source: 'individual' },
    });
    expect(again.json().results[0].reason).toBe('ALREADY_REGISTERED');
    const tooMany = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/registrations',
      headers: { authorization: writer },
      payload: { imeis: Array(10_001).fill(ok1), source: 'importer' },
    });
    expect(tooMany.statusCode).toBe(400);
  });

  it('imports a CSV of registrations, reporting rejected rows by line', async () => {
    const rows = ['imei,reference', `${imeiOf('86753003', 10)},DT-7`, `${imeiOf('86753003', 11)},DT-7`, `${imeiOf('86753003', 10)},DT-7`, 'nonsense,DT-7'];
    const res = await csv('/api/v1/devices/registrations/import', rows.join('\n') + '\n');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ rows: 4, accepted: 2, rejected: 2, committed: true });
    expect(res.json().errors.map((e: { line: number }) => e.line)).toEqual([4, 5]);
  });
});

describe('lost and stolen', () => {
  it('police block with a case number (idempotent) and unblock; other scopes are refused', async () => {
    const imei = imeiOf('35332811', 500);
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/stolen',
      headers: { authorization: police },
      payload: { imei, caseNumber: 'KUI-77' },
    });
    expect(first.statusCode).toBe(201);
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/stolen',
      headers: { authorization: police },
      payload: { imei, caseNumber: 'KUI-77' },
    });
    expect(second.statusCode).toBe(200);
    expect(second.json()).toMatchObject({ imei, caseNumber: 'KUI-77', alreadyBlocked: true });
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/v1/devices/stolen', headers: { authorization: writer }, payload: { imei, caseNumber: 'x' } }))
        .statusCode,
    ).toBe(403);
    expect(
      (await t.app.inject({ method: 'POST', url: '/api/v1/devices/stolen', headers: { authorization: police }, payload: { imei: '123', caseNumber: 'x' } }))
        .statusCode,
    ).toBe(400);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/devices/stolen/${imei}`, headers: { authorization: police } })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/devices/stolen/${imei}`, headers: { authorization: police } })).statusCode).toBe(404);
    const audit = await t.database.db.selectFrom('audit_log').select(['action', 'subject']).where('action', 'like', 'devices.imei.%').execute();
    expect(audit.filter((a) => a.subject === imei).map((a) => a.action)).toEqual(['devices.imei.block', 'devices.imei.unblock']);
  });
});

describe('checks', () => {
  it('imei-batch gives status and reasons; the public check gives brand, model and nothing personal', async () => {
    const registered = imeiOf('35332811', 1);
    const unknown = imeiOf('35290611', 999);
    const stolen = imeiOf('35290611', 3);
    await t.relayed();
    const batch = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/imei-batch',
      headers: { authorization: writer },
      payload: { imeis: [registered, unknown, stolen, 'abc', imeiOf('99999999', 5)] },
    });
    const items = batch.json().items;
    expect(items[0]).toMatchObject({ valid: true, status: 'WHITELISTED', reasons: ['registered'] });
    expect(items[1]).toMatchObject({ valid: true, status: 'GREYLISTED', reasons: [] });
    expect(items[2]).toMatchObject({ valid: true, status: 'BLACKLISTED', reasons: ['stolen'] });
    expect(items[3]).toMatchObject({ valid: false, status: null });
    expect(items[4]).toMatchObject({ valid: true, status: null, reasons: ['TAC_UNKNOWN'] });

    const pub = await t.app.inject({ method: 'GET', url: `/api/v1/public/imei/${registered}` });
    expect(pub.json()).toEqual({ imei: registered, valid: true, tacKnown: true, status: 'registered', brand: 'Apple', model: 'iPhone 14' });
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/public/imei/${stolen}` })).json().status).toBe('blocked');
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/public/imei/${unknown}` })).json()).toMatchObject({ tacKnown: true, status: 'unregistered' });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/public/imei/123' })).json()).toEqual({
      imei: '123',
      valid: false,
      tacKnown: false,
      status: null,
      brand: null,
      model: null,
    });
    const unknownTac = imeiOf('99999999', 5);
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/public/imei/${unknownTac}` })).json()).toEqual({
      imei: unknownTac,
      valid: true,
      tacKnown: false,
      status: null,
      brand: null,
      model: null,
    });
  });

  it('statistics count registrations per day and source, blocks, and the index', async () => {
    // What the blocks owe is classified shortly after their events; settle it now rather than wait.
    await t.services.devices.network.classifyPending();
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/devices/stats', headers: { authorization: writer } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.totals).toMatchObject({ registered: 4, tacs: 5 });
    // The stolen phone is classified black once (blocks re-classify), not counted again from the stolen list.
    expect(body.lists).toEqual({ grey: 0, black: body.totals.stolen });
    expect(body.registrationsPerDay.reduce((n: number, r: { count: number }) => n + r.count, 0)).toBe(4);
    expect(body.blocksPerDay.map((b: { action: string }) => b.action)).toEqual(expect.arrayContaining(['block', 'unblock']));
    expect(body.index.imeis).toBeGreaterThanOrEqual(5);
  });
});
