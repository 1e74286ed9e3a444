import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../core/auth/principal.js';
import type { Executor } from '../../core/db/database.js';
import { createServices, type Services } from '../../server.js';
import { startTestApp, TEST_SECRET, type TestApp } from '../../testing/app.js';
import { deafBus } from '../../testing/buses.js';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';

describe('voice: a write that answered 2xx is already what this instance screens with (no bus)', () => {
  let t: TestApp;
  let admin: string;
  let kcell: string;

  beforeAll(async () => {
    t = await startTestApp({ bus: deafBus() });
    admin = (await t.keyWith(['*'])).authorization;
    const ctx = systemContext('test');
    await t.services.auth.ensureOrg(ctx, { name: 'Kcell', kind: 'operator' });
    await t.services.auth.ensureOrg(ctx, { name: 'Beeline', kind: 'operator' });
    kcell = `Bearer ${(await t.services.auth.createApiKey(ctx, { org: 'Kcell', scopes: ['voice:screen', 'voice:write'] })).key}`;
  });
  afterAll(() => t.close());

  const call = (callingNumber: string, ingress = 'international') => ({ callingNumber, calledNumber: '+77017654321', ingress });
  const screen = async (body: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/voice/screen', headers: { authorization: kcell }, payload: body });
    expect(res.statusCode).toBe(200);
    return res.json() as { verdict: string; reasons: string[] };
  };
  const as = (authorization: string, method: 'PUT' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

  it('range holders and roaming reports: the roamer is allowed at once, and blocked again once home', async () => {
    expect((await as(admin, 'PUT', '/api/v1/voice/range-holders/701', { operator: 'Kcell' })).statusCode).toBe(200);
    expect(t.services.voice.index.homeOperator('+77019876543')).toBe((await t.services.auth.getOrg('Kcell')).id);
    expect((await screen(call('+77019876543'))).reasons).toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');

    const abroad = await as(kcell, 'PUT', '/api/v1/voice/roaming', [{ msisdn: '+77019876543', roaming: true, country: 'TR' }]);
    expect(abroad.json()).toMatchObject({ accepted: 1 });
    expect((await screen(call('+77019876543'))).reasons).not.toContain('SPOOFED_KZ_MOBILE_FROM_ABROAD');

    expect((await as(kcell, 'PUT', '/api/v1/voice/roaming', [{ msisdn: '+77019876543', roaming: false }])).json()).toMatchObject({ accepted: 1 });
    expect((await screen(call('+77019876543'))).verdict).toBe('block');

    expect((await as(admin, 'DELETE', '/api/v1/voice/range-holders/701')).statusCode).toBe(204);
    expect(t.services.voice.index.homeOperator('+77019876543')).toBeNull();
  });

  it('the do-not-originate list, the blocklist and policies', async () => {
    const hotline = call('+77272596000', 'domestic');
    expect((await as(admin, 'POST', '/api/v1/voice/dno', { numbers: [{ number: '+77272596000', label: 'Bank hotline' }] })).statusCode).toBe(200);
    expect(await screen(hotline)).toMatchObject({ verdict: 'block', reasons: expect.arrayContaining(['DO_NOT_ORIGINATE']) });

    expect((await as(admin, 'PUT', '/api/v1/voice/policies/Kcell', { block: [], flag: ['DO_NOT_ORIGINATE'], enabled: true })).statusCode).toBe(200);
    expect((await screen(hotline)).verdict).toBe('flag');
    expect((await as(admin, 'PUT', '/api/v1/voice/policies/*', { block: [], flag: [], enabled: false })).statusCode).toBe(200);
    expect((await screen(hotline)).verdict).toBe('allow');
    await as(admin, 'PUT', '/api/v1/voice/policies/*', { block: ['DO_NOT_ORIGINATE'], flag: [], enabled: true });

    expect((await as(admin, 'DELETE', '/api/v1/voice/dno/%2B77272596000')).statusCode).toBe(204);
    expect((await screen(hotline)).reasons).not.toContain('DO_NOT_ORIGINATE');

    // The blocklist is written by the instance that handles intel's and traffic's events.
    await t.services.voice.reference.applyBlocklistEvent('intel', '+77475550123', true, 'ind-1');
    expect((await screen(call('+77475550123', 'domestic'))).reasons).toContain('BLOCKLISTED_NUMBER');
    await t.services.voice.reference.applyBlocklistEvent('intel', '+77475550123', false, 'ind-1');
    expect((await screen(call('+77475550123', 'domestic'))).reasons).not.toContain('BLOCKLISTED_NUMBER');
  });

  it('trunks and ported numbers', async () => {
    expect(
      (
        await as(admin, 'PUT', '/api/v1/voice/trunks/kcell-intl', {
          name: 'Kcell international',
          operator: 'Kcell',
          addresses: ['10.1.0.0/16'],
          ingress: 'international',
        })
      ).statusCode,
    ).toBe(200);
    expect(t.services.voice.index.trunkOf('10.1.2.3')).toMatchObject({ id: 'kcell-intl', ingress: 'international' });
    expect(t.services.voice.index.isTrunk('kcell-intl')).toBe(true);
    expect((await as(admin, 'DELETE', '/api/v1/voice/trunks/kcell-intl')).statusCode).toBe(204);
    expect(t.services.voice.index.trunkOf('10.1.2.3')).toBeUndefined();

    const ported = await t.app.inject({
      method: 'POST',
      url: '/api/v1/voice/ported',
      headers: { authorization: admin, 'content-type': 'text/csv' },
      payload: 'msisdn,operator,portedAt\n+77056660001,Kcell,2026-10-01\n',
    });
    expect(ported.statusCode).toBe(200);
    expect(t.services.voice.index.homeOperator('+77056660001')).toBe((await t.services.auth.getOrg('Kcell')).id);
  });
});

describe('voice: a committed write is answered from what it committed, not from a read after it', () => {
  let database: TestDatabase;
  let services: Services;
  let readsFail = false;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Reads through the service's handle fail once a transaction has committed, as during a PostgreSQL restart.
    const db = new Proxy(database.db, {
      get(target, prop) {
        if (prop === 'selectFrom' && readsFail) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Executor;
    const logger = pino({ level: 'silent' });
    services = createServices({ database: { ...database, db }, bus: deafBus(), logger, secret: TEST_SECRET });
    await services.voice.start();
  });
  afterAll(async () => {
    await services?.voice.stop();
    await database?.close();
  });

  it('setting a screening policy answers the policy it stored', async () => {
    const stop = database.onCommit(() => (readsFail = true));
    try {
      const stored = await services.voice.screening.putPolicy(systemContext('test'), '*', {
        block: ['DO_NOT_ORIGINATE'],
        flag: ['INVALID_CLI'],
        enabled: true,
      });
      expect(stored).toEqual({ operatorId: '*', block: ['DO_NOT_ORIGINATE'], flag: ['INVALID_CLI'], enabled: true, isDefault: false });
    } finally {
      stop();
      readsFail = false;
    }
    expect(services.voice.index.policyFor(null).flag.has('INVALID_CLI')).toBe(true);
  });
});

describe('STIR/SHAKEN: an upload, SPC assignment or revocation that answered 2xx is what this instance verifies with (no bus)', () => {
  let t: TestApp;
  const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'stir', 'fixtures', name), 'utf8');
  const CALL = { orig: '+77011234567', dest: '+77021234567' };
  const keys: Record<'regulator' | 'kcell', string> = { regulator: '', kcell: '' };

  beforeAll(async () => {
    // The fixtures' certificates are valid from 2026 to 2126; the PASSporT's iat must be fresh for the clock.
    t = await startTestApp({ bus: deafBus(), clock: () => new Date('2027-01-01T00:00:00Z') });
    keys.regulator = (await t.keyWith(['voice:write', 'voice:admin'])).authorization;
    keys.kcell = (await t.keyWith(['voice:write', 'voice:sign'], 'Kcell', 'operator')).authorization;
  });
  afterAll(() => t.close());

  const as = (who: keyof typeof keys, method: 'PUT' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
    t.app.inject({ method, url, headers: { authorization: keys[who] }, ...(payload === undefined ? {} : { payload }) });

  it('a signed call verifies right after the uploads, and fails right after the revocation', async () => {
    expect((await as('regulator', 'POST', '/api/v1/voice/stir/certificates', { certificate: fixture('anchor.pem'), trustAnchor: true })).statusCode).toBe(201);
    expect((await as('regulator', 'PUT', '/api/v1/voice/stir/spcs/1001', { operator: 'Kcell' })).statusCode).toBe(200);
    const cert = await as('kcell', 'POST', '/api/v1/voice/stir/certificates', { certificate: fixture('operator.pem'), trustAnchor: false });
    expect(cert.statusCode).toBe(201);
    expect(
      (await as('kcell', 'PUT', '/api/v1/voice/stir/credentials', { certificateId: cert.json().id, privateKey: fixture('operator-key.pem') })).statusCode,
    ).toBe(200);
    const signed = await as('kcell', 'POST', '/api/v1/voice/stir/sign', { ...CALL, attest: 'A' });
    expect(signed.statusCode).toBe(200);
    const kcellId = (await t.services.auth.getOrg('Kcell')).id;
    expect(await t.services.stir.verifier.verify(signed.json().identity, CALL)).toMatchObject({ ok: true, attestation: 'A', operatorId: kcellId });

    expect((await as('kcell', 'DELETE', `/api/v1/voice/stir/certificates/${cert.json().id}`)).statusCode).toBe(204);
    expect(await t.services.stir.verifier.verify(signed.json().identity, CALL)).toMatchObject({ ok: false });
  });
});
