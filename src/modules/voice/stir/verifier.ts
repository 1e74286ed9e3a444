import type { X509Certificate } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importX509, type CryptoKey } from 'jose';
import type { IdentityCheck, IdentityFailureCode } from '../screening/schema.js';
import { chainToAnchor, chainValidity, endEntitySpc, isP256, parseBundle, parseCertificate } from './certificates.js';
import { httpsFetcher, type CertificateFetcher } from './fetcher.js';
import { canonicalTn, parseIdentityHeader, readPayload } from './passport.js';
import type { CertificateRepository, SpcAssignment, StirCertificate } from './repository.js';

/** RFC 8224 §6.2.2 reason phrases, for the SIP response line. */
export const IDENTITY_REASON_PHRASES: Record<IdentityFailureCode, string> = {
  403: 'Stale Date',
  428: 'Use Identity Header',
  436: 'Bad Identity Info',
  437: 'Unsupported Credential',
  438: 'Invalid Identity Header',
};

/** A certificate as the verifier holds it: its key and the operator its SPC names, or why it cannot vouch for a call. */
type Credential =
  { usable: true; key: CryptoKey; notBefore: Date; notAfter: Date; operatorId: string | null } | { usable: false; code: 436 | 437; why: string };

export interface X5uCacheOptions {
  /** How long a fetched certificate is kept when its repository sends no Cache-Control max-age (default 300 s). */
  defaultSeconds?: number;
  /** The longest a fetched certificate is kept, whatever max-age says (default 86,400 s). */
  maxSeconds?: number;
  /** How long a failed fetch is remembered, so a flood of calls does not refetch (default 30 s). */
  failureSeconds?: number;
  /** Fetched x5u URLs kept at most; the oldest goes first (default 10,000). */
  maxEntries?: number;
}

export interface StirVerifierDeps {
  repo: {
    certificates(): Promise<StirCertificate[]>;
    spcs(): Promise<SpcAssignment[]>;
    repositories(): Promise<CertificateRepository[]>;
  };
  clock: () => Date;
  maxAgeSeconds?: number;
  /** Fetches an x5u that is not in the store from an allowed repository (default: HTTPS with 2 s and 64 KiB limits). */
  fetchCertificate?: CertificateFetcher;
  x5uCache?: X5uCacheOptions;
}

function fail(code: IdentityFailureCode, detail: string): IdentityCheck {
  return { ok: false, code, reason: `${IDENTITY_REASON_PHRASES[code]}: ${detail}` };
}

const unusable = (why: string, code: 436 | 437 = 437): Credential => ({ usable: false, code, why });

/** What the store knows at one reload: active anchors, SPC owners, allowed repository hosts. */
interface Trust {
  anchors: X509Certificate[];
  spcs: Map<string, string>;
  hosts: Set<string>;
}

/** A certificate chain (end entity first) checked up to an active anchor and against the SHAKEN profile. */
async function credentialOf(pem: string, trust: Trust): Promise<Credential> {
  const bundle = parseBundle(pem);
  if (!bundle) return unusable('the certificate cannot be parsed');
  const [leaf, ...intermediates] = bundle as [X509Certificate, ...X509Certificate[]];
  if (!isP256(leaf)) return unusable('the certificate key is not EC P-256');
  const chain = chainToAnchor(leaf, intermediates, trust.anchors);
  if (!chain.ok) return unusable(chain.why);
  const profile = endEntitySpc(leaf);
  if (!profile.ok) return unusable(profile.why);
  const key = await importX509(leaf.toString(), 'ES256').catch(() => null);
  if (!key) return unusable('the certificate key cannot be imported');
  return { usable: true, key, operatorId: trust.spcs.get(profile.spc) ?? null, ...chainValidity([...chain.path, chain.anchor]) };
}

async function storedCredential(row: StirCertificate, trust: Trust): Promise<Credential> {
  if (row.revokedAt) return unusable('the certificate has been revoked');
  if (row.trustAnchor) return unusable('a trust anchor does not sign calls');
  return credentialOf(row.pem, trust);
}

/** The x5u as a URL to fetch when it is on an allowed repository: https, no credentials in the URL; null otherwise. */
function fetchableUrl(x5u: string, hosts: Set<string>): URL | null {
  let url: URL;
  try {
    url = new URL(x5u);
  } catch {
    return null;
  }
  return url.protocol === 'https:' && !url.username && !url.password && hosts.has(url.host.toLowerCase()) ? url : null;
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
 * Verifies SIP Identity headers (RFC 8224, SHAKEN PASSporTs) against the certificate store, answering from memory;
 * an x5u not in the store is fetched from an allowed certificate repository and cached per its Cache-Control.
 * Call `reload()` at start-up and whenever `voice.stir.certificates.changed` arrives.
 */
export function createStirVerifier(deps: StirVerifierDeps) {
  const maxAge = deps.maxAgeSeconds ?? 60;
  const fetchCertificate = deps.fetchCertificate ?? httpsFetcher();
  const cacheOptions = { defaultSeconds: 300, maxSeconds: 86_400, failureSeconds: 30, maxEntries: 10_000, ...deps.x5uCache };
  let credentials = new Map<string, Credential>();
  let trust: Trust = { anchors: [], spcs: new Map(), hosts: new Set() };
  /** Fetched x5u URLs: the credential and until when (ms) it may be used; a reload empties it. */
  let fetched = new Map<string, { credential: Credential; until: number }>();
  const inFlight = new Map<string, Promise<Credential>>();

  function remember(x5u: string, credential: Credential, seconds: number): void {
    if (seconds <= 0) return;
    fetched.delete(x5u);
    if (fetched.size >= cacheOptions.maxEntries) fetched.delete(fetched.keys().next().value!);
    fetched.set(x5u, { credential, until: deps.clock().getTime() + seconds * 1000 });
  }

  async function fetchCredential(x5u: string, url: URL, against: Trust): Promise<Credential> {
    try {
      const answer = await fetchCertificate(url);
      const credential = await credentialOf(answer.pem, against);
      const seconds = Math.min(answer.maxAgeSeconds ?? cacheOptions.defaultSeconds, cacheOptions.maxSeconds);
      if (against === trust) remember(x5u, credential, credential.usable ? seconds : cacheOptions.failureSeconds);
      return credential;
    } catch (err) {
      const credential = unusable(`the certificate at x5u cannot be fetched: ${(err as Error).message}`, 436);
      if (against === trust) remember(x5u, credential, cacheOptions.failureSeconds);
      return credential;
    }
  }

  /** A credential for an x5u not in the store: from the cache, or fetched once however many calls ask at the same time. */
  async function remote(x5u: string): Promise<Credential | null> {
    const url = fetchableUrl(x5u, trust.hosts);
    if (!url) return null;
    const cached = fetched.get(x5u);
    if (cached && cached.until > deps.clock().getTime()) return cached.credential;
    let pending = inFlight.get(x5u);
    if (!pending) {
      pending = fetchCredential(x5u, url, trust).finally(() => inFlight.delete(x5u));
      inFlight.set(x5u, pending);
    }
    return pending;
  }

  return {
    async reload(): Promise<void> {
      const [rows, spcs, repositories] = await Promise.all([deps.repo.certificates(), deps.repo.spcs(), deps.repo.repositories()]);
      const anchors = rows.flatMap((row) => {
        const cert = row.trustAnchor && !row.revokedAt ? parseCertificate(row.pem) : null;
        return cert && isP256(cert) ? [cert] : [];
      });
      const next: Trust = { anchors, spcs: new Map(spcs.map((s) => [s.spc, s.operatorId])), hosts: new Set(repositories.map((r) => r.host)) };
      const map = new Map<string, Credential>();
      for (const row of rows) map.set(row.x5u, await storedCredential(row, next));
      credentials = map;
      trust = next;
      fetched = new Map();
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
      if (header.alg !== 'ES256' || header.typ !== 'passport' || header.ppt !== 'shaken')
        return fail(438, 'the PASSporT header is not alg ES256, typ passport, ppt shaken');
      if (typeof header.x5u !== 'string') return fail(438, 'the PASSporT header has no x5u');

      const info = parsed.params.get('info');
      if (info === undefined) return fail(436, 'the header has no info parameter');
      if (info !== header.x5u) return fail(436, 'the info parameter differs from the PASSporT x5u');
      // RFC 8224 §4: a PASSporT with a ppt is carried with the same ppt parameter.
      if (ppt === undefined) return fail(438, 'the header has no ppt parameter though the PASSporT carries ppt "shaken"');
      const credential = credentials.get(header.x5u) ?? (await remote(header.x5u));
      if (!credential) return fail(436, 'the certificate is not in the certificate store and x5u is not on an allowed certificate repository');
      if (!credential.usable) return fail(credential.code, credential.why);
      const now = deps.clock();
      if (now < credential.notBefore || now > credential.notAfter) return fail(437, 'the certificate is expired or not yet valid');

      const payload = await verifiedPayload(parsed.jws, credential.key);
      if (!payload) return fail(438, 'the signature does not verify');
      const claims = readPayload(parseJson(payload));
      if (!claims) return fail(438, 'the PASSporT lacks attest, dest, iat, orig or origid, or one is malformed');

      const age = Math.floor(now.getTime() / 1000) - claims.iat;
      if (Math.abs(age) > maxAge)
        return fail(403, age > 0 ? `the PASSporT was signed ${age} s ago (limit ${maxAge} s)` : `the PASSporT is dated ${-age} s in the future`);
      if (canonicalTn(call.orig) !== claims.orig.tn) return fail(438, 'orig does not match the calling number');
      const dest = canonicalTn(call.dest);
      if (dest === null || !claims.dest.tn.includes(dest)) return fail(438, 'dest does not match the called number');
      return { ok: true, attestation: claims.attest, origid: claims.origid, operatorId: credential.operatorId };
    },
  };
}

export type StirVerifier = ReturnType<typeof createStirVerifier>;
