import type { X509Certificate } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importX509, type CryptoKey } from 'jose';
import type { IdentityCheck, IdentityFailureCode } from '../types.js';
import { isP256, issuerAmong, parseCertificate, validity } from './certificates.js';
import { canonicalTn, parseIdentityHeader, readPayload } from './passport.js';
import type { StirCertificate } from './repository.js';

/** RFC 8224 §6.2.2 reason phrases, for the SIP response line. */
export const IDENTITY_REASON_PHRASES: Record<IdentityFailureCode, string> = {
  403: 'Stale Date',
  428: 'Use Identity Header',
  436: 'Bad Identity Info',
  437: 'Unsupported Credential',
  438: 'Invalid Identity Header',
};

/** A certificate as the verifier holds it: its key, or why it cannot vouch for a call. */
type Credential =
  | { usable: true; key: CryptoKey; notBefore: Date; notAfter: Date; operatorId: string | null }
  | { usable: false; why: string };

export interface StirVerifierDeps {
  repo: { certificates(): Promise<StirCertificate[]> };
  clock: () => Date;
  maxAgeSeconds?: number;
}

function fail(code: IdentityFailureCode, detail: string): IdentityCheck {
  return { ok: false, code, reason: `${IDENTITY_REASON_PHRASES[code]}: ${detail}` };
}

async function credentialOf(row: StirCertificate, anchors: { cert: X509Certificate }[]): Promise<Credential> {
  if (row.revokedAt) return { usable: false, why: 'the certificate has been revoked' };
  if (row.trustAnchor) return { usable: false, why: 'a trust anchor does not sign calls' };
  const cert = parseCertificate(row.pem);
  if (!cert) return { usable: false, why: 'the certificate cannot be parsed' };
  if (!isP256(cert)) return { usable: false, why: 'the certificate key is not EC P-256' };
  const anchor = issuerAmong(cert, anchors);
  if (!anchor) return { usable: false, why: 'the certificate is not issued by a trusted anchor' };
  const own = validity(cert);
  const parent = validity(anchor.cert);
  const key = await importX509(row.pem, 'ES256');
  return {
    usable: true,
    key,
    operatorId: row.operatorId,
    notBefore: own.notBefore > parent.notBefore ? own.notBefore : parent.notBefore,
    notAfter: own.notAfter < parent.notAfter ? own.notAfter : parent.notAfter,
  };
}

/** Builds the x5u → credential map from the certificate store; a certificate that fails to load is kept as unusable. */
async function load(rows: StirCertificate[]): Promise<Map<string, Credential>> {
  const anchors = rows.flatMap((row) => {
    const cert = row.trustAnchor && !row.revokedAt ? parseCertificate(row.pem) : null;
    return cert && isP256(cert) ? [{ cert }] : [];
  });
  const map = new Map<string, Credential>();
  for (const row of rows) {
    map.set(row.x5u, await credentialOf(row, anchors).catch((): Credential => ({ usable: false, why: 'the certificate key cannot be imported' })));
  }
  return map;
}

async function verifiedPayload(jws: string, key: CryptoKey): Promise<Uint8Array | null> {
  try {
    return (await compactVerify(jws, key, { algorithms: ['ES256'] })).payload;
  } catch {
    return null;
  }
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Verifies SIP Identity headers (RFC 8224, SHAKEN PASSporTs) against the certificate store, answering from memory.
 * Call `reload()` at start-up and whenever `voice.stir.certificates.changed` arrives.
 */
export function createStirVerifier(deps: StirVerifierDeps) {
  const maxAge = deps.maxAgeSeconds ?? 60;
  let credentials = new Map<string, Credential>();

  return {
    async reload(): Promise<void> {
      credentials = await load(await deps.repo.certificates());
    },

    /** Never throws: every failure is an RFC 8224 code with a reason. */
    async verify(identity: string | undefined, call: { orig: string; dest: string }): Promise<IdentityCheck> {
      if (identity === undefined || identity.trim() === '') return fail(428, 'the call carries no Identity header');
      const parsed = parseIdentityHeader(identity);
      if (!parsed) return fail(438, 'the header is not a full-form PASSporT with parameters');
      const alg = parsed.params.get('alg');
      const ppt = parsed.params.get('ppt');
      if (alg !== undefined && alg !== 'ES256') return fail(438, `alg "${alg}" is not supported`);
      if (ppt !== undefined && ppt !== 'shaken') return fail(438, `ppt "${ppt}" is not supported`);

      let header: Record<string, unknown>;
      try {
        header = decodeProtectedHeader(parsed.jws);
      } catch {
        return fail(438, 'the PASSporT header cannot be decoded');
      }
      if (header.alg !== 'ES256' || header.typ !== 'passport' || header.ppt !== 'shaken') return fail(438, 'the PASSporT header is not alg ES256, typ passport, ppt shaken');
      if (typeof header.x5u !== 'string') return fail(438, 'the PASSporT header has no x5u');

      const info = parsed.params.get('info');
      if (info === undefined) return fail(436, 'the header has no info parameter');
      if (info !== header.x5u) return fail(436, 'the info parameter differs from the PASSporT x5u');
      const credential = credentials.get(header.x5u);
      if (!credential) return fail(436, 'the certificate is not in the certificate store');
      if (!credential.usable) return fail(437, credential.why);
      const now = deps.clock();
      if (now < credential.notBefore || now > credential.notAfter) return fail(437, 'the certificate is expired or not yet valid');

      const payload = await verifiedPayload(parsed.jws, credential.key);
      if (!payload) return fail(438, 'the signature does not verify');
      const claims = readPayload(parseJson(payload));
      if (!claims) return fail(438, 'the PASSporT lacks attest, dest, iat, orig or origid, or one is malformed');

      const age = Math.floor(now.getTime() / 1000) - claims.iat;
      if (Math.abs(age) > maxAge) return fail(403, age > 0 ? `the PASSporT was signed ${age} s ago (limit ${maxAge} s)` : `the PASSporT is dated ${-age} s in the future`);
      if (canonicalTn(call.orig) !== claims.orig.tn) return fail(438, 'orig does not match the calling number');
      const dest = canonicalTn(call.dest);
      if (dest === null || !claims.dest.tn.includes(dest)) return fail(438, 'dest does not match the called number');
      return { ok: true, attestation: claims.attest, origid: claims.origid, operatorId: credential.operatorId };
    },
  };
}

export type StirVerifier = ReturnType<typeof createStirVerifier>;
