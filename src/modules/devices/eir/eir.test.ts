import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestApp, type TestApp } from '../../../testing/app.js';
import { imeiOf } from '../../../testing/imei.js';

const SPECS = join(import.meta.dirname, '../../../../../shared/specs');

/** JSON Schemas from the 3GPP OpenAPI files, with $refs resolved (refs into files we do not have accept anything). */
function specSchema(file: string, name: string): object {
  const docs: Record<string, { components: { schemas: Record<string, unknown> } }> = {};
  const load = (f: string) => (docs[f] ??= parse(readFileSync(join(SPECS, f), 'utf8')));
  const resolve = (node: unknown, current: string): unknown => {
    if (Array.isArray(node)) return node.map((n) => resolve(n, current));
    if (node && typeof node === 'object') {
      const ref = (node as { $ref?: string }).$ref;
      if (ref) {
        const [f, pointer] = ref.split('#');
        const target = f || current;
        if (!['TS29511_N5g-eir_EquipmentIdentityCheck.yaml', 'TS29571_CommonData.yaml'].includes(target)) return {};
        return resolve(load(target).components.schemas[pointer!.split('/').at(-1)!], target);
      }
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v, current)]));
    }
    return node;
  };
  return resolve(load(file).components.schemas[name], file) as object;
}

const ajv = new Ajv({ strict: false, allErrors: true });
const eirResponse = ajv.compile(specSchema('TS29511_N5g-eir_EquipmentIdentityCheck.yaml', 'EirResponseData'));
const problemDetails = ajv.compile(specSchema('TS29571_CommonData.yaml', 'ProblemDetails'));

let t: TestApp;
let eir: string;
const WHITE = imeiOf('35332811', 1);
const GREY = imeiOf('35332811', 2);
const NEVER_SEEN = imeiOf('35332811', 3);
const BLACK_STOLEN = imeiOf('35332811', 4);
const BLACK_PAST_GRACE = imeiOf('35332811', 5);
const PAIRED = imeiOf('35332811', 6);

beforeAll(async () => {
  t = await startTestApp();
  const admin = (await t.keyWith(['*'])).authorization;
  eir = (await t.keyWith(['devices:check'], 'Kcell', 'operator')).authorization;
  const db = t.database.db;
  await db.insertInto('devices_tac').values({ tac: '35332811', manufacturer: 'Apple', model_name: 'iPhone 14' }).execute();
  await t.app.inject({
    method: 'POST',
    url: '/api/v1/devices/registrations',
    headers: { authorization: admin },
    payload: { imeis: [WHITE], source: 'importer' },
  });
  const blocked = await t.app.inject({
    method: 'POST',
    url: '/api/v1/devices/stolen',
    headers: { authorization: admin },
    payload: { imei: BLACK_STOLEN, caseNumber: 'KUI-1' },
  });
  expect(blocked.json()).toMatchObject({ alreadyBlocked: false });
  await db
    .insertInto('devices_classification')
    .values([
      { imei14: GREY.slice(0, 14), status: 'grey', reasons: ['not_registered'], first_flagged: '2026-11-01', deadline: '2026-12-01' },
      { imei14: BLACK_PAST_GRACE.slice(0, 14), status: 'black', reasons: ['not_registered'], first_flagged: '2026-09-01', deadline: '2026-10-01' },
      { imei14: PAIRED.slice(0, 14), status: 'black', reasons: ['not_registered'], first_flagged: '2026-09-01', deadline: '2026-10-01' },
    ])
    .execute();
  await db
    .insertInto('devices_pairings')
    .values({ imei14: PAIRED.slice(0, 14), imsi: '401021234567890' })
    .execute();
  await t.relayed();
  await t.services.eir.reload();
});
afterAll(() => t.close());

/** Without the request id, which differs between two answers to the same question. */
const comparable = (body: string) => ({ ...(JSON.parse(body) as Record<string, unknown>), requestId: undefined });

/**
 * Asks through inject and again over a real socket (the server's own HTTP parser and limits): both must give the same
 * status, content type and body.
 */
async function check(query: string, authorization = eir) {
  const url = `/n5g-eir-eic/v1/equipment-status?${query}`;
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization } });
  const http = await t.overHttp({ method: 'GET', url, headers: { authorization } });
  expect([http.statusCode, http.headers.get('content-type'), comparable(http.body)]).toEqual([
    res.statusCode,
    res.headers['content-type'],
    comparable(res.body),
  ]);
  expect(http.headers.get('x-request-id')).toBeTruthy();
  return res;
}

describe('N5g-eir equipment-status', () => {
  it.each([
    ['registered', WHITE, 'WHITELISTED'],
    ['seen, unregistered, in grace', GREY, 'GREYLISTED'],
    ['never seen and not registered', NEVER_SEEN, 'GREYLISTED'],
    ['stolen', BLACK_STOLEN, 'BLACKLISTED'],
    ['past the grace period', BLACK_PAST_GRACE, 'BLACKLISTED'],
  ])('%s → %s', async (_name, imei, status) => {
    const res = await check(`pei=imei-${imei}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status });
    expect(eirResponse(res.json())).toBe(true);
  });

  it('matches on the first 14 digits: a spare 0, the check digit and an IMEISV give the same answer', async () => {
    for (const pei of [`imei-${BLACK_STOLEN}`, `imei-${BLACK_STOLEN.slice(0, 14)}0`, `imeisv-${BLACK_STOLEN.slice(0, 14)}07`]) {
      expect((await check(`pei=${pei}`)).json()).toEqual({ status: 'BLACKLISTED' });
    }
  });

  it('a pairing exempts from non-registration, never from a stolen block', async () => {
    expect((await check(`pei=imei-${PAIRED}&supi=imsi-401021234567890`)).json()).toEqual({ status: 'WHITELISTED' });
    expect((await check(`pei=imei-${PAIRED}&supi=imsi-401029999999999`)).json()).toEqual({ status: 'BLACKLISTED' });
    await t.database.db
      .insertInto('devices_pairings')
      .values({ imei14: BLACK_STOLEN.slice(0, 14), imsi: '401021234567890' })
      .execute();
    await t.services.eir.reload();
    expect((await check(`pei=imei-${BLACK_STOLEN}&supi=imsi-401021234567890`)).json()).toEqual({ status: 'BLACKLISTED' });
  });

  it('404 ERROR_EQUIPMENT_UNKNOWN for a TAC not in the TAC database', async () => {
    const res = await check(`pei=imei-${imeiOf('99999999', 1)}`);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ status: 404, cause: 'ERROR_EQUIPMENT_UNKNOWN' });
    expect(problemDetails(res.json())).toBe(true);
  });

  it('400 MANDATORY_QUERY_PARAM_MISSING / _INCORRECT for a missing or bad pei', async () => {
    const missing = await check('supi=imsi-401021234567890');
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ cause: 'MANDATORY_QUERY_PARAM_MISSING', invalidParams: [{ param: 'pei' }] });
    expect(problemDetails(missing.json())).toBe(true);
    for (const pei of ['imei-123', 'imei-35332811000001x', 'mac-00-11-22-33-44-55', `imeisv-${WHITE}`]) {
      const bad = await check(`pei=${encodeURIComponent(pei)}`);
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ cause: 'MANDATORY_QUERY_PARAM_INCORRECT' });
      expect(problemDetails(bad.json())).toBe(true);
    }
    const empty = await check('pei=');
    expect(empty.json()).toMatchObject({ status: 400, cause: 'MANDATORY_QUERY_PARAM_MISSING', invalidParams: [{ param: 'pei' }] });
    // A repeated pei is not one PEI, nor is a repeated supi one SUPI.
    const twice = await check(`pei=imei-${WHITE}&pei=imei-${WHITE}`);
    expect(twice.statusCode).toBe(400);
    expect(twice.json()).toMatchObject({ cause: 'MANDATORY_QUERY_PARAM_INCORRECT' });
    const supis = await check(`pei=imei-${WHITE}&supi=imsi-401021234567890&supi=imsi-401021234567891`);
    expect(supis.statusCode).toBe(400);
    expect(supis.json()).toMatchObject({ cause: 'INVALID_QUERY_PARAM', invalidParams: [{ param: 'supi' }] });
    expect(problemDetails(supis.json())).toBe(true);
  });

  it('decodes a percent-encoded query', async () => {
    expect((await check(`pei=imei%2D${WHITE}`)).json()).toEqual({ status: 'WHITELISTED' });
  });

  it('needs devices:check', async () => {
    expect((await t.app.inject({ method: 'GET', url: `/n5g-eir-eic/v1/equipment-status?pei=imei-${WHITE}` })).statusCode).toBe(401);
    const other = (await t.keyWith(['devices:read'], 'Reader')).authorization;
    expect((await check(`pei=imei-${WHITE}`, other)).statusCode).toBe(403);
  });

  it('follows changes by event: a block and an unblock reach the answer at once', async () => {
    const admin = (await t.keyWith(['*'])).authorization;
    await t.app.inject({ method: 'POST', url: '/api/v1/devices/stolen', headers: { authorization: admin }, payload: { imei: WHITE, caseNumber: 'KUI-2' } });
    await t.relayed();
    expect((await check(`pei=imei-${WHITE}`)).json()).toEqual({ status: 'BLACKLISTED' });
    await t.app.inject({ method: 'DELETE', url: `/api/v1/devices/stolen/${WHITE}`, headers: { authorization: admin } });
    await t.relayed();
    expect((await check(`pei=imei-${WHITE}`)).json()).toEqual({ status: 'WHITELISTED' });
  });
  it('a blocking order from the regulator blacklists at once, a pairing does not lift it, and lifting the order does', async () => {
    const regulator = (await t.keyWith(['devices:block'])).authorization;
    const order = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/orders',
      headers: { authorization: regulator },
      payload: { imei: PAIRED, orderRef: 'COURT-2026-77' },
    });
    expect(order.statusCode).toBe(201);
    await t.relayed();
    expect((await check(`pei=imei-${PAIRED}&supi=imsi-401021234567890`)).json()).toEqual({ status: 'BLACKLISTED' });
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/devices/orders',
      headers: { authorization: regulator },
      payload: { imei: PAIRED, orderRef: 'COURT-2026-77' },
    });
    expect(again.json()).toMatchObject({ alreadyOrdered: true });
    const police = (await t.keyWith(['devices:block'], 'Police Unit', 'police')).authorization;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/devices/orders/${PAIRED}`, headers: { authorization: police } })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/devices/orders/${PAIRED}`, headers: { authorization: regulator } })).statusCode).toBe(204);
    await t.relayed();
    expect((await check(`pei=imei-${PAIRED}&supi=imsi-401021234567890`)).json()).toEqual({ status: 'WHITELISTED' });
  });
});
