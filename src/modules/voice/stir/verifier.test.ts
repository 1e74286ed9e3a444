import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { CompactSign, importPKCS8, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCertificate, validity } from './certificates.js';
import type { CertificateFetcher, FetchedPem } from './fetcher.js';
import { identityHeader, passportHeader, passportPayload } from './passport.js';
import type { StirCertificate } from './repository.js';
import { createStirVerifier } from './verifier.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const NOW = new Date('2027-01-01T00:00:00Z');
const IAT = Math.floor(NOW.getTime() / 1000);
const BASE = 'https://qalqan.test/api/v1/voice/stir/certificates/';
const ORIG = '77011234567';
const DEST = '77021234567';
const CALL = { orig: '+7 701 123 45 67', dest: '87021234567' };
const CODES: readonly number[] = [403, 428, 436, 437, 438];

function row(name: string, overrides: Partial<StirCertificate> = {}): StirCertificate {
  const pem = overrides.pem ?? fixture(`${name}.pem`);
  const cert = parseCertificate(pem)!;
  return {
    id: name,
    operatorId: null,
    x5u: `${BASE}${name}.pem`,
    pem,
    fingerprint: cert.fingerprint256,
    subject: cert.subject,
    trustAnchor: false,
    ...validity(cert),
    revokedAt: null,
    createdAt: NOW,
    ...overrides,
  };
}

const store: StirCertificate[] = [
  row('anchor', { trustAnchor: true }),
  row('operator'),
  row('operator2', { revokedAt: NOW }),
  row('rsa'),
  row('rogue'),
  row('expired'),
  row('chained', { pem: fixture('chained.pem') + fixture('intermediate.pem') }),
  row('chained-alone', { pem: fixture('chained.pem') }),
  row('below-not-ca', { pem: fixture('below-not-ca.pem') + fixture('not-ca.pem') }),
  row('ca-leaf'),
  row('no-tnauth'),
  row('unassigned-spc', { pem: fixture('operator2.pem') }),
];
/** SPC 1001 is Kcell's; 1002 (operator2's) is assigned to nobody. */
const SPCS = [{ spc: '1001', operatorId: 'kcell', updatedAt: NOW }];
const stored = (rows: StirCertificate[]) => ({ certificates: async () => rows, spcs: async () => SPCS, repositories: async () => [] });
const verifier = createStirVerifier({ repo: stored(store), clock: () => NOW });

let keys: Record<'operator' | 'operator2' | 'rogue' | 'expired' | 'chained', CryptoKey>;
beforeAll(async () => {
  await verifier.reload();
  const load = (name: string) => importPKCS8(fixture(`${name}-key.pem`), 'ES256');
  keys = {
    operator: await load('operator'),
    operator2: await load('operator2'),
    rogue: await load('rogue'),
    expired: await load('expired'),
    chained: await load('chained'),
  };
});

interface TokenOptions {
  signer?: keyof typeof keys;
  x5u?: string;
  header?: Record<string, unknown>;
  payload?: Record<string, unknown>;
}

async function jwsOf(options: TokenOptions = {}): Promise<string> {
  const x5u = options.x5u ?? `${BASE}operator.pem`;
  const payload = { ...passportPayload({ attest: 'A', orig: ORIG, dest: DEST, iat: IAT, origid: '123e4567-e89b-42d3-a456-426614174000' }), ...options.payload };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ ...passportHeader(x5u), ...options.header })
    .sign(keys[options.signer ?? 'operator']);
}

async function identity(options: TokenOptions = {}): Promise<string> {
  return identityHeader(await jwsOf(options), options.x5u ?? `${BASE}operator.pem`);
}

const codeOf = async (header: string | undefined, call = CALL) => {
  const check = await verifier.verify(header, call);
  return check.ok ? 'ok' : check.code;
};

describe('STIR verifier', () => {
  it('accepts a valid PASSporT and gives its attestation, origid and the operator its SPC names, whatever form the call numbers take', async () => {
    expect(await verifier.verify(await identity(), CALL)).toEqual({
      ok: true,
      attestation: 'A',
      origid: '123e4567-e89b-42d3-a456-426614174000',
      operatorId: 'kcell',
    });
    expect(await verifier.verify(await identity({ payload: { attest: 'C' } }), { orig: '77011234567', dest: '+77021234567' })).toMatchObject({
      ok: true,
      attestation: 'C',
    });
  });

  it('428 without an Identity header', async () => {
    expect(await verifier.verify(undefined, CALL)).toEqual({ ok: false, code: 428, reason: 'Use Identity Header: the call carries no Identity header' });
    expect(await codeOf('  ')).toBe(428);
  });

  it('438 for a tampered payload or signature', async () => {
    const [h, , s] = (await jwsOf()).split('.');
    const forged = Buffer.from(JSON.stringify(passportPayload({ attest: 'A', orig: ORIG, dest: '77770000000', iat: IAT, origid: 'x' }))).toString('base64url');
    expect(await codeOf(identityHeader(`${h}.${forged}.${s}`, `${BASE}operator.pem`), { orig: ORIG, dest: '77770000000' })).toBe(438);
    const flipped = s!.slice(0, 10) + (s![10] === 'A' ? 'B' : 'A') + s!.slice(11);
    const check = await verifier.verify(identityHeader(`${h}.${(await jwsOf()).split('.')[1]}.${flipped}`, `${BASE}operator.pem`), CALL);
    expect(check).toEqual({ ok: false, code: 438, reason: 'Invalid Identity Header: the signature does not verify' });
  });

  it('438 for a signature by another key than the certificate’s', async () => {
    expect(await codeOf(await identity({ signer: 'rogue' }))).toBe(438);
  });

  it('438 when orig or dest does not match the call', async () => {
    expect(await verifier.verify(await identity(), { ...CALL, orig: '+77019999999' })).toMatchObject({
      ok: false,
      code: 438,
      reason: expect.stringContaining('orig'),
    });
    expect(await verifier.verify(await identity(), { ...CALL, dest: '+77029999999' })).toMatchObject({
      ok: false,
      code: 438,
      reason: expect.stringContaining('dest'),
    });
    expect(await codeOf(await identity(), { ...CALL, orig: 'anonymous' })).toBe(438);
  });

  it('438 for a wrong header: typ, ppt, alg, missing x5u, compact form without payload, header parameters', async () => {
    expect(await codeOf(await identity({ header: { typ: 'JWT' } }))).toBe(438);
    expect(await codeOf(await identity({ header: { ppt: 'div' } }))).toBe(438);
    expect(await codeOf(await identity({ header: { x5u: undefined } }))).toBe(438);
    const [h, , s] = (await jwsOf()).split('.');
    expect(await codeOf(`${h}..${s};info=<${BASE}operator.pem>`)).toBe(438);
    const jws = await jwsOf();
    expect(await codeOf(`${jws};info=<${BASE}operator.pem>;alg=RS256`)).toBe(438);
    expect(await codeOf(`${jws};info=<${BASE}operator.pem>;ppt=div`)).toBe(438);
    expect(await codeOf(`${jws};info=<${BASE}operator.pem>;`)).toBe(438);
    expect(await verifier.verify(`${jws};info=<${BASE}operator.pem>;alg=ES256`, CALL)).toEqual({
      ok: false,
      code: 438,
      reason: 'Invalid Identity Header: the header has no ppt parameter though the PASSporT carries ppt "shaken"',
    });
    expect(await codeOf(`${jws};info=<${BASE}operator.pem>`)).toBe(438);
    expect(await codeOf(`${jws} ; info = <${BASE}operator.pem> ; alg=ES256 ; ppt="shaken"`)).toBe('ok');
  });

  it('438 when a claim is missing or malformed', async () => {
    expect(await codeOf(await identity({ payload: { origid: undefined } }))).toBe(438);
    expect(await codeOf(await identity({ payload: { attest: 'D' } }))).toBe(438);
    expect(await codeOf(await identity({ payload: { orig: { tn: '+77011234567' } } }))).toBe(438);
    expect(await codeOf(await identity({ payload: { dest: { tn: [] } } }))).toBe(438);
    expect(await codeOf(await identity({ payload: { iat: '1798761600' } }))).toBe(438);
  });

  it('436 when the certificate is unknown, or info is missing or differs from x5u', async () => {
    expect(await codeOf(await identity({ x5u: 'https://elsewhere.example/cert.pem' }))).toBe(436);
    const jws = await jwsOf();
    expect(await codeOf(jws)).toBe(436);
    expect(await codeOf(identityHeader(jws, `${BASE}operator2.pem`))).toBe(436);
  });

  it('437 for revoked, RSA, unchained, expired certificates and trust anchors', async () => {
    expect(await verifier.verify(await identity({ signer: 'operator2', x5u: `${BASE}operator2.pem` }), CALL)).toEqual({
      ok: false,
      code: 437,
      reason: 'Unsupported Credential: the certificate has been revoked',
    });
    expect(await codeOf(await identity({ x5u: `${BASE}rsa.pem` }))).toBe(437);
    expect(await codeOf(await identity({ signer: 'rogue', x5u: `${BASE}rogue.pem` }))).toBe(437);
    expect(await codeOf(await identity({ signer: 'expired', x5u: `${BASE}expired.pem` }))).toBe(437);
    expect(await codeOf(await identity({ x5u: `${BASE}anchor.pem` }))).toBe(437);
  });

  it('accepts a chain through an intermediate CA (ATIS-1000080); the TNAuthList SPC names the operator that vouches', async () => {
    expect(await verifier.verify(await identity({ signer: 'chained', x5u: `${BASE}chained.pem` }), CALL)).toMatchObject({ ok: true, operatorId: 'kcell' });
    // A valid certificate whose SPC is assigned to no operator verifies but vouches for nobody.
    expect(await verifier.verify(await identity({ signer: 'operator2', x5u: `${BASE}unassigned-spc.pem` }), CALL)).toMatchObject({
      ok: true,
      operatorId: null,
    });
  });

  it('437 for a chain without its intermediate, through a non-CA, a CA:TRUE end entity, or no TNAuthList', async () => {
    const reason = async (name: string, signer: keyof typeof keys = 'chained') => {
      const check = await verifier.verify(await identity({ signer, x5u: `${BASE}${name}.pem` }), CALL);
      return check.ok ? 'ok' : `${check.code} ${check.reason}`;
    };
    expect(await reason('chained-alone')).toMatch(/^437 .*not issued and signed by a trust anchor/);
    expect(await reason('below-not-ca')).toMatch(/^437 .*Not a CA is not a CA certificate/);
    expect(await reason('ca-leaf', 'operator')).toMatch(/^437 .*is a CA certificate/);
    expect(await reason('no-tnauth', 'operator')).toMatch(/^437 .*no TNAuthList/);
  });

  it('403 when iat is more than 60 s old or ahead; 60 s either way is accepted', async () => {
    expect(await verifier.verify(await identity({ payload: { iat: IAT - 61 } }), CALL)).toEqual({
      ok: false,
      code: 403,
      reason: 'Stale Date: the PASSporT was signed 61 s ago (limit 60 s)',
    });
    expect(await codeOf(await identity({ payload: { iat: IAT + 61 } }))).toBe(403);
    expect(await codeOf(await identity({ payload: { iat: IAT - 60 } }))).toBe('ok');
    expect(await codeOf(await identity({ payload: { iat: IAT + 60 } }))).toBe('ok');
  });

  it('a revoked trust anchor takes its certificates down with it; reload picks up changes', async () => {
    const rows = [row('anchor', { trustAnchor: true })];
    const local = createStirVerifier({ repo: stored(rows), clock: () => NOW });
    const header = await identity();
    await local.reload();
    expect(await local.verify(header, CALL)).toMatchObject({ ok: false, code: 436 });
    rows.push(row('operator'));
    await local.reload();
    expect((await local.verify(header, CALL)).ok).toBe(true);
    rows[0] = row('anchor', { trustAnchor: true, revokedAt: NOW });
    await local.reload();
    expect(await local.verify(header, CALL)).toMatchObject({ ok: false, code: 437 });
  });

  it('fetches an x5u missing from the store from an allowed repository, caches it per max-age, and fetches once for concurrent calls', async () => {
    let now = NOW;
    const asked: string[] = [];
    let answer: () => Promise<FetchedPem> = async () => ({ pem: fixture('chained.pem') + fixture('intermediate.pem'), maxAgeSeconds: 120 });
    const remote = createStirVerifier({
      repo: {
        ...stored([row('anchor', { trustAnchor: true })]),
        repositories: async () => [
          { host: 'cr.kcell.test', createdAt: NOW },
          { host: 'cr.beeline.test:8443', createdAt: NOW },
        ],
      },
      clock: () => now,
      fetchCertificate: async (url) => {
        asked.push(url.href);
        return answer();
      },
    });
    await remote.reload();
    const x5u = 'https://cr.kcell.test/sti/1001.pem';
    const header = await identity({ signer: 'chained', x5u });
    const checks = await Promise.all([remote.verify(header, CALL), remote.verify(header, CALL), remote.verify(header, CALL)]);
    expect(checks.map((c) => c.ok && c.operatorId)).toEqual(['kcell', 'kcell', 'kcell']);
    expect(asked).toEqual([x5u]);
    const signedNow = () => identity({ signer: 'chained', x5u, payload: { iat: Math.floor(now.getTime() / 1000) } });
    now = new Date(NOW.getTime() + 119_000);
    expect((await remote.verify(await signedNow(), CALL)).ok).toBe(true);
    expect(asked).toHaveLength(1);
    now = new Date(NOW.getTime() + 121_000);
    expect((await remote.verify(await signedNow(), CALL)).ok).toBe(true);
    expect(asked).toHaveLength(2);
    now = NOW;

    // A host with a port is allowed only as listed; http, other hosts and credentials in the URL are never fetched.
    const beeline = 'https://cr.beeline.test:8443/a.pem';
    expect((await remote.verify(await identity({ signer: 'chained', x5u: beeline }), CALL)).ok).toBe(true);
    for (const refused of [
      'http://cr.kcell.test/a.pem',
      'https://cr.beeline.test/a.pem',
      'https://evil.test/a.pem',
      'https://u:p@cr.kcell.test/a.pem',
      'not a url',
    ]) {
      expect(await remote.verify(await identity({ signer: 'chained', x5u: refused }), CALL)).toMatchObject({
        ok: false,
        code: 436,
        reason: expect.stringContaining('not on an allowed certificate repository'),
      });
    }
    expect(asked).toHaveLength(3);

    // A failed fetch is a 436, remembered for 30 s; a fetched certificate that does not chain is a 437.
    answer = async () => Promise.reject(new Error('the repository answered 404'));
    const missing = 'https://cr.kcell.test/missing.pem';
    expect(await remote.verify(await identity({ signer: 'chained', x5u: missing }), CALL)).toEqual({
      ok: false,
      code: 436,
      reason: 'Bad Identity Info: the certificate at x5u cannot be fetched: the repository answered 404',
    });
    expect((await remote.verify(await identity({ signer: 'chained', x5u: missing }), CALL)).ok).toBe(false);
    expect(asked.filter((u) => u === missing)).toHaveLength(1);
    answer = async () => ({ pem: fixture('chained.pem'), maxAgeSeconds: null });
    expect(await remote.verify(await identity({ signer: 'chained', x5u: 'https://cr.kcell.test/alone.pem' }), CALL)).toMatchObject({ ok: false, code: 437 });
  });

  it('a stored certificate answers from the store without fetching, whatever host its x5u has', async () => {
    const fetch = vi.fn<CertificateFetcher>();
    const local = createStirVerifier({
      repo: { ...stored(store), repositories: async () => [{ host: 'qalqan.test', createdAt: NOW }] },
      clock: () => NOW,
      fetchCertificate: fetch,
    });
    await local.reload();
    expect((await local.verify(await identity(), CALL)).ok).toBe(true);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('arbitrary strings never throw and always fail with an RFC 8224 code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('a', '.', ';', '<', '>', '=', 'e', 'y', 'J') })),
        async (text) => {
          const check = await verifier.verify(text, CALL);
          expect(check.ok).toBe(false);
          if (!check.ok) expect(CODES).toContain(check.code);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('mutated headers never throw: each one still verifies or fails with an RFC 8224 code', async () => {
    const valid = await identity();
    const mutated = fc
      .tuple(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 20 }), fc.string({ maxLength: 8 }))
      .map(([at, cut, insert]) => valid.slice(0, at) + insert + valid.slice(at + cut));
    await fc.assert(
      fc.asyncProperty(mutated, async (text) => {
        const check = await verifier.verify(text, CALL);
        expect(check.ok || CODES.includes(check.code)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
