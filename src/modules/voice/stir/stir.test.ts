import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, importPKCS8 } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../../core/auth/principal.js';
import type { OrgKind } from '../../../core/db/types.js';
import { createMemoryBus } from '../../../core/events/memory-bus.js';
import type { App } from '../../../core/http/app.js';
import { createHttpServer, createServices, type Services } from '../../../server.js';
import { TEST_SECRET } from '../../../testing/app.js';
import { createTestDatabase } from '../../../testing/database.js';
import { identityHeader, passportHeader, passportPayload } from './passport.js';
import { CERTIFICATES_CHANGED, type StirService } from './service.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const BASE = 'https://qalqan.test';
const CALL = { orig: '+77011234567', dest: '+77021234567' };
let now = new Date('2027-01-01T00:00:00Z');

let app: App;
let services: Services;
let stir: StirService;
const auth: Record<'regulator' | 'operator' | 'operator2' | 'screener', string> = { regulator: '', operator: '', operator2: '', screener: '' };
/** What the operators' certificate repositories serve, by URL (the injected fetcher reads it). */
const repository = new Map<string, string>();
const orgIds: Record<string, string> = {};

async function key(org: string, kind: OrgKind, scopes: string[]): Promise<string> {
  const ctx = systemContext('test');
  orgIds[org] = (await services.auth.ensureOrg(ctx, { name: org, kind })).id;
  return `Bearer ${(await services.auth.createApiKey(ctx, { org, scopes })).key}`;
}

beforeAll(async () => {
  const logger = pino({ level: 'silent' });
  const database = await createTestDatabase();
  const fetchCertificate = async (url: URL) => {
    const served = repository.get(url.href);
    if (!served) throw new Error('the repository answered 404');
    return { pem: served, maxAgeSeconds: 600 };
  };
  services = createServices({
    database,
    bus: createMemoryBus(logger, 5),
    logger,
    secret: TEST_SECRET,
    clock: () => now,
    voice: { publicBaseUrl: `${BASE}/`, fetchCertificate },
  });
  stir = services.stir;
  app = (await createHttpServer(services)).app;
  await app.ready();
  auth.regulator = await key('Agency', 'regulator', ['voice:write', 'voice:admin']);
  auth.operator = await key('Kcell', 'operator', ['voice:write', 'voice:sign', 'voice:admin']);
  auth.operator2 = await key('Beeline', 'operator', ['voice:write', 'voice:sign']);
  auth.screener = await key('Tele2', 'operator', ['voice:screen']);
});
afterAll(async () => {
  await app.close();
  await services.relay.stop();
  await services.bus.close();
  await services.database.close();
});

type Who = keyof typeof auth | 'nobody';
const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, who: Who, payload?: object) =>
  app.inject({ method, url, headers: who === 'nobody' ? {} : { authorization: auth[who] }, ...(payload ? { payload } : {}) });
const upload = (who: Who, name: string, trustAnchor = false) =>
  call('POST', '/api/v1/voice/stir/certificates', who, { certificate: fixture(`${name}.pem`), trustAnchor });
const uploadPem = (who: Who, certificate: string) => call('POST', '/api/v1/voice/stir/certificates', who, { certificate, trustAnchor: false });
const assignSpc = (who: Who, spc: string, operator: string) => call('PUT', `/api/v1/voice/stir/spcs/${spc}`, who, { operator });
const pathOf = (x5u: string) => x5u.slice(BASE.length);

let operatorCert: { id: string; x5u: string };
let chainCert: { id: string; x5u: string };
let operator2Cert: { id: string; x5u: string };

describe('certificate store', () => {
  it('refuses leaves before a trust anchor exists, and anchors from operators', async () => {
    const early = await upload('operator', 'operator');
    expect(early.statusCode).toBe(422);
    expect(early.json().detail).toContain('not issued and signed by a trust anchor');
    const anchor = await upload('operator', 'anchor', true);
    expect(anchor.statusCode).toBe(403);
    expect(anchor.json()).toMatchObject({ type: 'https://qalqan.kz/problems/forbidden', detail: 'only the regulator may upload trust anchors' });
  });

  it('the regulator uploads the anchor and assigns service provider codes; operators upload certificates naming their SPC, each with an x5u under our API', async () => {
    const anchor = await upload('regulator', 'anchor', true);
    expect(anchor.statusCode).toBe(201);
    expect(anchor.json()).toMatchObject({ operatorId: null, trustAnchor: true, subject: 'C=KZ, O=Qalqan Test, CN=Test STI-PA Root', revokedAt: null });
    const unassigned = await upload('operator', 'operator');
    expect(unassigned.json()).toMatchObject({
      status: 422,
      detail: 'the certificate’s service provider code 1001 is assigned to no operator; the regulator assigns it with PUT /api/v1/voice/stir/spcs/1001',
    });
    expect((await assignSpc('operator', '1001', 'Kcell')).statusCode).toBe(403);
    const assigned = await assignSpc('regulator', '1001', 'Kcell');
    expect(assigned.json()).toEqual({ spc: '1001', operatorId: orgIds.Kcell, updatedAt: now.toISOString() });
    expect((await assignSpc('regulator', '1002', 'Beeline')).statusCode).toBe(200);
    expect((await assignSpc('regulator', '1003', 'Agency')).json()).toMatchObject({ status: 404, detail: 'operator "Agency" does not exist' });
    // The SPC, not the uploader, says whose certificate it is: Beeline cannot upload Kcell's.
    expect((await upload('operator2', 'operator')).json()).toMatchObject({
      status: 403,
      detail: 'the certificate’s service provider code 1001 belongs to another operator',
    });
    const res = await upload('operator', 'operator');
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ operatorId: orgIds.Kcell, trustAnchor: false, notAfter: expect.stringMatching(/^2126-/) });
    expect(body.x5u).toBe(`${BASE}/api/v1/voice/stir/certificates/${body.id}.pem`);
    expect(body.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    operatorCert = body;
    operator2Cert = (await upload('operator2', 'operator2')).json();
  });

  it('serves the certificate chain at the x5u without credentials, cacheable for a day', async () => {
    const res = await call('GET', pathOf(operatorCert.x5u), 'nobody');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/pem-certificate-chain');
    expect(res.headers['cache-control']).toBe('public, max-age=86400');
    expect(res.body.trim()).toBe(fixture('operator.pem').trim());
    expect((await call('GET', `/api/v1/voice/stir/certificates/${randomUUID()}.pem`, 'nobody')).statusCode).toBe(404);
    expect((await call('GET', '/api/v1/voice/stir/certificates/nope.pem', 'nobody')).statusCode).toBe(400);
  });

  it('accepts a chain through an intermediate CA (ATIS-1000080) and serves it whole; refuses a broken chain or a certificate off the SHAKEN profile', async () => {
    const chain = await uploadPem('operator', fixture('chained.pem') + fixture('intermediate.pem'));
    expect(chain.statusCode).toBe(201);
    expect(chain.json()).toMatchObject({ operatorId: orgIds.Kcell, subject: 'C=KZ, O=Test Operator, CN=SHAKEN 7701 via STI-CA' });
    const served = await call('GET', pathOf(chain.json().x5u), 'nobody');
    expect(served.body.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(served.body).toBe(`${fixture('chained.pem').trim()}\n${fixture('intermediate.pem').trim()}\n`);
    // An independent verifier (openssl) builds the path from what the x5u serves and the root alone.
    const file = join(mkdtempSync(join(tmpdir(), 'qalqan-x5u-')), 'served.pem');
    writeFileSync(file, served.body);
    expect(
      execFileSync('openssl', ['verify', '-CAfile', join(import.meta.dirname, 'fixtures', 'anchor.pem'), '-untrusted', file, file], {
        encoding: 'utf8',
      }).trim(),
    ).toBe(`${file}: OK`);
    chainCert = chain.json();
    const detail = async (pem: string) => {
      const res = await uploadPem('operator', pem);
      expect(res.statusCode).toBe(422);
      return res.json().detail as string;
    };
    expect(await detail(fixture('chained.pem'))).toContain('not issued and signed by a trust anchor in the store or by a CA certificate in the bundle');
    expect(await detail(fixture('below-not-ca.pem') + fixture('not-ca.pem'))).toContain(
      'the intermediate C=KZ, O=Qalqan Test, CN=Not a CA is not a CA certificate',
    );
    expect(await detail(fixture('ca-leaf.pem'))).toContain('is a CA certificate (basicConstraints CA:TRUE)');
    expect(await detail(fixture('no-tnauth.pem'))).toBe('the certificate has no TNAuthList extension (1.3.6.1.5.5.7.1.26)');
    expect(await detail(fixture('anchor.pem') + fixture('intermediate.pem'))).toContain('is a CA certificate');
    const anchorBundle = await call('POST', '/api/v1/voice/stir/certificates', 'regulator', {
      certificate: fixture('anchor.pem') + fixture('intermediate.pem'),
      trustAnchor: true,
    });
    expect(anchorBundle.json()).toMatchObject({ status: 422, detail: 'a trust anchor is uploaded alone, not in a bundle' });
  });

  it('refuses RSA, unchained, expired, unparseable and duplicate certificates with a clear 422 or 409', async () => {
    const detail = async (name: string) => {
      const res = await upload('operator', name);
      expect(res.statusCode).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      return res.json().detail as string;
    };
    expect(await detail('rsa')).toContain('EC P-256');
    expect(await detail('rogue')).toContain('not issued and signed by a trust anchor');
    expect(await detail('expired')).toContain('not valid now');
    expect(await detail('operator-key')).toContain('not a PEM-encoded X.509 certificate');
    const twice = await upload('operator', 'operator');
    expect(twice.statusCode).toBe(409);
  });

  it('lists the store without PEMs or keys, and audits and announces every change', async () => {
    const res = await call('GET', '/api/v1/voice/stir/certificates', 'operator');
    expect(
      res
        .json()
        .items.map((c: { subject: string }) => c.subject)
        .sort(),
    ).toEqual([
      'C=KZ, O=Qalqan Test, CN=Test STI-PA Root',
      'C=KZ, O=Second Operator, CN=SHAKEN 7702',
      'C=KZ, O=Test Operator, CN=SHAKEN 7701',
      'C=KZ, O=Test Operator, CN=SHAKEN 7701 via STI-CA',
    ]);
    expect(res.body).not.toContain('BEGIN');
    const audited = await services.database.db.selectFrom('audit_log').select('action').where('action', 'like', 'voice.stir.%').execute();
    expect(audited.map((a) => a.action).sort()).toEqual([...Array(4).fill('voice.stir.certificate.upload'), 'voice.stir.spc.assign', 'voice.stir.spc.assign']);
    const events = await services.database.db.selectFrom('core_outbox').select('topic').where('topic', '=', CERTIFICATES_CHANGED).execute();
    expect(events).toHaveLength(6);
  });
});

describe('signing credentials', () => {
  const put = (who: Who, certificateId: string, keyName: string) =>
    call('PUT', '/api/v1/voice/stir/credentials', who, { certificateId, privateKey: fixture(`${keyName}.pem`) });

  it('refuses a key that does not match, a key that is not PKCS#8, and another operator’s certificate', async () => {
    expect((await put('operator', operatorCert.id, 'operator2-key')).json()).toMatchObject({
      status: 422,
      detail: 'the private key does not match the certificate’s public key',
    });
    expect((await put('operator', operatorCert.id, 'operator')).json()).toMatchObject({ status: 422, detail: expect.stringContaining('PKCS#8') });
    expect((await put('operator', operator2Cert.id, 'operator2-key')).statusCode).toBe(404);
    expect((await put('operator', 'not-a-uuid', 'operator-key')).statusCode).toBe(400);
  });

  it('stores the key encrypted and never returns it', async () => {
    const res = await put('operator', operatorCert.id, 'operator-key');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ certificateId: operatorCert.id, x5u: operatorCert.x5u, storedAt: now.toISOString() });
    const row = await services.database.db.selectFrom('voice_stir_credentials').selectAll().where('operator_id', '=', orgIds.Kcell!).executeTakeFirstOrThrow();
    const keyBody = fixture('operator-key.pem').split('\n')[1]!;
    expect(row.private_key_enc).not.toContain('PRIVATE KEY');
    expect(row.private_key_enc).not.toContain(keyBody.slice(0, 20));
    const audit = await services.database.db.selectFrom('audit_log').select(['action', 'detail']).where('action', '=', 'voice.stir.credential.set').execute();
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain('PRIVATE KEY');
  });
});

describe('signing and verifying', () => {
  const sign = (who: Who, body: object) => call('POST', '/api/v1/voice/stir/sign', who, body);

  it('signs a SHAKEN PASSporT whose Identity header the verifier accepts', async () => {
    const res = await sign('operator', { orig: '8 701 123 45 67', dest: '+7 702 123 45 67', attest: 'A' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.passport.header).toEqual({ alg: 'ES256', ppt: 'shaken', typ: 'passport', x5u: operatorCert.x5u });
    expect(body.passport.payload).toEqual({
      attest: 'A',
      dest: { tn: ['77021234567'] },
      iat: now.getTime() / 1000,
      orig: { tn: '77011234567' },
      origid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(body.identity).toMatch(new RegExp(`^[\\w-]+\\.[\\w-]+\\.[\\w-]+;info=<${operatorCert.x5u.replace(/\./g, '\\.')}>;alg=ES256;ppt=shaken$`));
    expect(res.body).not.toContain('PRIVATE KEY');
    const [header, payload] = (body.identity as string).split('.');
    expect(Buffer.from(payload!, 'base64url').toString()).toBe(JSON.stringify(body.passport.payload));
    expect(Buffer.from(header!, 'base64url').toString()).toBe(JSON.stringify(body.passport.header));

    await stir.verifier.reload();
    expect(await stir.verifier.verify(body.identity, CALL)).toEqual({
      ok: true,
      attestation: 'A',
      origid: body.passport.payload.origid,
      operatorId: orgIds.Kcell,
    });
    expect(await stir.verifier.verify(body.identity, { ...CALL, orig: '+77019999999' })).toMatchObject({ ok: false, code: 438 });
    now = new Date(now.getTime() + 61_000);
    expect(await stir.verifier.verify(body.identity, CALL)).toMatchObject({ ok: false, code: 403 });
    now = new Date('2027-01-01T00:00:00Z');
  });

  it('screening verifies the Identity header: a signed call is attested, a tampered one is IDENTITY_INVALID', async () => {
    const screener = auth.screener;
    await services.voice.reference.putRangeHolder(systemContext('test'), '701', 'Kcell');
    const identity = (await sign('operator', { ...CALL, attest: 'A' })).json().identity as string;
    const screen = (body: object) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/voice/screen',
        headers: { authorization: screener },
        payload: { callingNumber: CALL.orig, calledNumber: CALL.dest, ingress: 'international', ...body },
      });
    // A Kazakh subscriber abroad whose operator signed with full attestation is not spoofed.
    expect((await screen({ identity })).json()).toEqual({ verdict: 'allow', reasons: [], attestation: 'A' });
    expect((await screen({})).json()).toMatchObject({ verdict: 'block', reasons: ['SPOOFED_KZ_MOBILE_FROM_ABROAD', 'IDENTITY_MISSING'] });
    const [h, p, sig] = identity.split('.');
    const forged = `${h}.${Buffer.from(Buffer.from(p!, 'base64url').toString().replace('77021234567', '77029999999')).toString('base64url')}.${sig}`;
    expect((await screen({ identity: forged, calledNumber: '+77029999999' })).json()).toMatchObject({
      verdict: 'block',
      reasons: expect.arrayContaining(['IDENTITY_INVALID']),
    });
    expect((await screen({ identity: 'garbage' })).json().reasons).toContain('IDENTITY_INVALID');
    expect((await screen({ identity, calledNumber: '+77025550000', ingress: 'domestic' })).json()).toMatchObject({
      verdict: 'block',
      reasons: ['IDENTITY_INVALID'],
    });
  });

  it('vouching follows the SPC: reassigned to another operator, the same signature no longer vouches for Kcell’s subscriber abroad', async () => {
    const identity = (await sign('operator', { ...CALL, attest: 'A' })).json().identity as string;
    const abroad = { callingNumber: CALL.orig, calledNumber: CALL.dest, ingress: 'international', identity };
    const screen = async () =>
      (await app.inject({ method: 'POST', url: '/api/v1/voice/screen', headers: { authorization: auth.screener }, payload: abroad })).json();
    expect(await screen()).toEqual({ verdict: 'allow', reasons: [], attestation: 'A' });
    expect((await assignSpc('regulator', '1001', 'Beeline')).statusCode).toBe(200);
    await stir.verifier.reload();
    expect(await stir.verifier.verify(identity, CALL)).toMatchObject({ ok: true, operatorId: orgIds.Beeline });
    expect(await screen()).toMatchObject({ verdict: 'block', reasons: ['SPOOFED_KZ_MOBILE_FROM_ABROAD'], attestation: 'A' });
    expect((await call('DELETE', '/api/v1/voice/stir/spcs/1001', 'regulator')).statusCode).toBe(204);
    expect((await call('DELETE', '/api/v1/voice/stir/spcs/1001', 'regulator')).statusCode).toBe(404);
    await stir.verifier.reload();
    expect(await stir.verifier.verify(identity, CALL)).toMatchObject({ ok: true, operatorId: null });
    await assignSpc('regulator', '1001', 'Kcell');
    expect((await call('GET', '/api/v1/voice/stir/spcs', 'operator')).json().items).toEqual([
      { spc: '1001', operatorId: orgIds.Kcell, updatedAt: now.toISOString() },
      { spc: '1002', operatorId: orgIds.Beeline, updatedAt: now.toISOString() },
    ]);
    await stir.verifier.reload();
    expect(await screen()).toEqual({ verdict: 'allow', reasons: [], attestation: 'A' });
  });

  it('fetches an x5u missing from the store only from a repository host the regulator allowed', async () => {
    const x5u = 'https://cr.kcell.test/sti/1001.pem';
    repository.set(x5u, fixture('chained.pem') + fixture('intermediate.pem'));
    const key = await importPKCS8(fixture('chained-key.pem'), 'ES256');
    const payload = passportPayload({ attest: 'A', orig: '77011234567', dest: '77021234567', iat: now.getTime() / 1000, origid: randomUUID() });
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(passportHeader(x5u)).sign(key);
    const identity = identityHeader(jws, x5u);
    expect(await stir.verifier.verify(identity, CALL)).toMatchObject({ ok: false, code: 436 });

    expect((await call('PUT', '/api/v1/voice/stir/repositories/cr.kcell.test', 'operator')).statusCode).toBe(403);
    const allowed = await call('PUT', '/api/v1/voice/stir/repositories/CR.Kcell.test:443', 'regulator');
    expect(allowed.json()).toEqual({ host: 'cr.kcell.test', createdAt: now.toISOString() });
    expect((await call('PUT', '/api/v1/voice/stir/repositories/bad_host', 'regulator')).statusCode).toBe(400);
    expect((await call('GET', '/api/v1/voice/stir/repositories', 'operator')).json()).toEqual({
      items: [{ host: 'cr.kcell.test', createdAt: now.toISOString() }],
    });
    await stir.verifier.reload();
    expect(await stir.verifier.verify(identity, CALL)).toMatchObject({ ok: true, attestation: 'A', operatorId: orgIds.Kcell });

    expect((await call('DELETE', '/api/v1/voice/stir/repositories/cr.kcell.test', 'regulator')).statusCode).toBe(204);
    expect((await call('DELETE', '/api/v1/voice/stir/repositories/cr.kcell.test', 'regulator')).statusCode).toBe(404);
    await stir.verifier.reload();
    expect(await stir.verifier.verify(identity, CALL)).toMatchObject({ ok: false, code: 436 });
    const audited = await services.database.db.selectFrom('audit_log').select('action').where('action', 'like', 'voice.stir.repository.%').execute();
    expect(audited.map((a) => a.action)).toEqual(['voice.stir.repository.allow', 'voice.stir.repository.remove']);
  });

  it('keeps a given origid; 400 with field errors for numbers that are not numbers and a bad attest', async () => {
    const origid = randomUUID();
    expect((await sign('operator', { ...CALL, attest: 'B', origid })).json().passport.payload).toMatchObject({ attest: 'B', origid });
    const numbers = await sign('operator', { orig: 'anonymous', dest: '12', attest: 'A' });
    expect(numbers.statusCode).toBe(400);
    expect(numbers.json().errors).toEqual([
      { field: 'body.orig', message: '"anonymous" is not a telephone number' },
      { field: 'body.dest', message: '"12" is not a telephone number' },
    ]);
    const attest = await sign('operator', { ...CALL, attest: 'D' });
    expect(attest.statusCode).toBe(400);
    expect(attest.json().detail).toContain('body.attest');
    expect((await sign('operator', { ...CALL, attest: 'A', origid: 'x' })).statusCode).toBe(400);
  });

  it('409 for an operator without a credential; 401 and 403 for missing key and scope', async () => {
    const res = await sign('operator2', { ...CALL, attest: 'A' });
    expect(res.statusCode).toBe(409);
    expect(res.json().detail).toContain('no signing credential');
    expect((await sign('nobody', { ...CALL, attest: 'A' })).statusCode).toBe(401);
    expect((await sign('regulator', { ...CALL, attest: 'A' })).statusCode).toBe(403);
  });
});

describe('revocation', () => {
  it('an operator cannot revoke another’s certificate; the owner can; verification then answers 437 and signing 409', async () => {
    const identity = (await call('POST', '/api/v1/voice/stir/sign', 'operator', { ...CALL, attest: 'A' })).json().identity as string;
    const other = await call('DELETE', `/api/v1/voice/stir/certificates/${operatorCert.id}`, 'operator2');
    expect(other.statusCode).toBe(403);
    expect((await call('DELETE', `/api/v1/voice/stir/certificates/${operatorCert.id}`, 'operator')).statusCode).toBe(204);
    expect((await call('DELETE', `/api/v1/voice/stir/certificates/${operatorCert.id}`, 'operator')).statusCode).toBe(204);
    expect((await call('DELETE', `/api/v1/voice/stir/certificates/${randomUUID()}`, 'operator')).statusCode).toBe(404);

    await stir.verifier.reload();
    expect(await stir.verifier.verify(identity, CALL)).toEqual({ ok: false, code: 437, reason: 'Unsupported Credential: the certificate has been revoked' });
    expect((await call('GET', pathOf(operatorCert.x5u), 'nobody')).statusCode).toBe(404);
    expect((await call('POST', '/api/v1/voice/stir/sign', 'operator', { ...CALL, attest: 'A' })).statusCode).toBe(409);
    const revokes = await services.database.db.selectFrom('audit_log').select('action').where('action', '=', 'voice.stir.certificate.revoke').execute();
    expect(revokes).toHaveLength(1);
  });

  it('a revoked trust anchor’s certificates are no longer served at their x5u', async () => {
    expect((await call('GET', pathOf(chainCert.x5u), 'nobody')).statusCode).toBe(200);
    const anchorId = ((await call('GET', '/api/v1/voice/stir/certificates', 'regulator')).json().items as { id: string; trustAnchor: boolean }[]).find(
      (c) => c.trustAnchor,
    )!.id;
    expect((await call('DELETE', `/api/v1/voice/stir/certificates/${anchorId}`, 'regulator')).statusCode).toBe(204);
    const gone = await call('GET', pathOf(chainCert.x5u), 'nobody');
    expect(gone.json()).toMatchObject({ status: 404, detail: `no current certificate ${chainCert.id}: it no longer chains to a trust anchor in the store` });
    expect((await call('GET', pathOf(operator2Cert.x5u), 'nobody')).statusCode).toBe(404);
  });

  it('the regulator revokes any certificate', async () => {
    expect((await call('DELETE', `/api/v1/voice/stir/certificates/${operator2Cert.id}`, 'regulator')).statusCode).toBe(204);
    const listed = (await call('GET', '/api/v1/voice/stir/certificates', 'regulator')).json().items as { id: string; revokedAt: string | null }[];
    expect(listed.find((c) => c.id === operator2Cert.id)?.revokedAt).toBe(now.toISOString());
  });
});
