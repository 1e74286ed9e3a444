import type { OrgDirectory } from '../../../core/auth/directory.js';
import type { X509Certificate } from 'node:crypto';
import { CompactSign, importPKCS8 } from 'jose';
import type { Kysely } from 'kysely';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { RunChange } from '../../../core/changes.js';
import { DomainError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import { voicePolicy } from '../policy.js';
import type { Attestation } from '../screening/schema.js';
import type { VoiceTables } from '../tables.js';
import { chainToAnchor, chainValidity, endEntitySpc, isP256, parseBundle, parseCertificate, toPemBundle, validAt } from './certificates.js';
import type { CertificateFetcher } from './fetcher.js';
import { credentialCipher, keyMatches, parsePrivateKey } from './keys.js';
import { canonicalTn, identityHeader, passportHeader, passportPayload } from './passport.js';
import { stirRepository, type StirCertificate } from './repository.js';
import { CERTIFICATES_CHANGED, createStirTrustLists } from './trust-lists.js';
import { createStirVerifier } from './verifier.js';

export { CERTIFICATES_CHANGED };

export interface StirServiceDeps {
  /** The voice tables. */
  db: Kysely<VoiceTables>;
  run: RunChange<VoiceTables>;
  orgs: OrgDirectory;
  clock: () => Date;
  ids: () => string;
  secret: string;
  /** Where this API is reachable from outside, e.g. `https://qalqan.kz`: the base of every certificate's x5u. */
  publicBaseUrl: string;
  /** Fetches an x5u that is not in the store (default: HTTPS with time and size limits); tests inject their own. */
  fetchCertificate?: CertificateFetcher;
  logger: Logger;
}

/** How long a verifier may cache a certificate we serve at its x5u (never past the chain's end of validity). */
const X5U_MAX_AGE_SECONDS = 86_400;

export interface SignRequest {
  orig: string;
  dest: string;
  attest: Attestation;
  origid?: string;
}

/** A certificate as the API shows it (never the private key). */
export type CertificateView = Omit<StirCertificate, 'pem'>;

function view({ pem: _pem, ...rest }: StirCertificate): CertificateView {
  return rest;
}

/** STIR/SHAKEN: the certificate store, operators' signing credentials, the authentication service and the verifier. */
export function createStirService(deps: StirServiceDeps) {
  const repo = stirRepository(deps.db);
  const cipher = credentialCipher(deps.secret);
  const baseUrl = deps.publicBaseUrl.replace(/\/+$/, '');
  const verifier = createStirVerifier({ repo, clock: deps.clock, fetchCertificate: deps.fetchCertificate });
  /**
   * Read your own writes: after a change commits, this instance's verifier reloads at once, not when the event comes
   * back. A failed reload does not undo the committed change: the event and the periodic reload follow.
   */
  async function applied(): Promise<void> {
    await verifier
      .reload()
      .catch((err: unknown) => deps.logger.warn({ err }, 'STIR verifier reload after a change failed; the event or the periodic reload will apply it'));
  }

  function requireOrg(orgId: string | null, what: string): string {
    if (!orgId) throw new DomainError('invalid', `only an organisation’s API key can ${what}`);
    return orgId;
  }

  /** The trust anchors not revoked and valid at `now`. */
  async function anchorsAt(now: Date): Promise<X509Certificate[]> {
    return (await repo.activeAnchors()).flatMap((a) => {
      const parsed = parseCertificate(a.pem);
      return parsed && validAt(parsed, now) ? [parsed] : [];
    });
  }

  /**
   * Checks an upload: a trust anchor is one CA certificate; a signing certificate is a PEM bundle, the end entity
   * first, then the intermediates up to a stored anchor (ATIS-1000080), with the SHAKEN end-entity profile. Returns
   * the chain to store and serve (end entity and intermediates) and the SPC of a signing certificate.
   */
  async function checkUpload(pem: string, trustAnchor: boolean): Promise<{ chain: X509Certificate[]; spc: string | null }> {
    const bundle = parseBundle(pem);
    if (!bundle) throw new DomainError('unprocessable', 'certificate is not a PEM-encoded X.509 certificate (or a bundle of them)');
    const [cert, ...intermediates] = bundle as [X509Certificate, ...X509Certificate[]];
    if (!isP256(cert)) throw new DomainError('unprocessable', 'the certificate key must be EC P-256 (ES256), as SHAKEN requires');
    const now = deps.clock();
    if (!validAt(cert, now)) throw new DomainError('unprocessable', `the certificate is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
    if (trustAnchor) {
      if (intermediates.length) throw new DomainError('unprocessable', 'a trust anchor is uploaded alone, not in a bundle');
      if (!cert.ca) throw new DomainError('unprocessable', 'a trust anchor must be a CA certificate (basicConstraints CA:TRUE)');
      return { chain: [cert], spc: null };
    }
    const chain = chainToAnchor(cert, intermediates, await anchorsAt(now));
    if (!chain.ok) throw new DomainError('unprocessable', chain.why);
    const stale = chain.path.find((c) => !validAt(c, now));
    if (stale)
      throw new DomainError(
        'unprocessable',
        `the intermediate ${stale.subject.replace(/\n/g, ', ')} is not valid now (valid ${stale.validFrom} to ${stale.validTo})`,
      );
    const profile = endEntitySpc(cert);
    if (!profile.ok) throw new DomainError('unprocessable', profile.why);
    return { chain: chain.path, spc: profile.spc };
  }

  /** The operator a signing certificate's SPC names, which the caller must be (or the regulator). */
  async function spcOwner(ctx: RequestContext, spc: string): Promise<string> {
    const operatorId = await repo.spcOperator(spc);
    if (!operatorId)
      throw new DomainError(
        'unprocessable',
        `the certificate’s service provider code ${spc} is assigned to no operator; the regulator assigns it with PUT /api/v1/voice/stir/spcs/${spc}`,
      );
    if (!voicePolicy.uploadCertificateFor(ctx.principal, operatorId))
      throw new DomainError('forbidden', `the certificate’s service provider code ${spc} belongs to another operator`);
    return operatorId;
  }

  return {
    verifier,

    /** Stores an operator's certificate, or (the regulator only) a trust anchor; gives it an x5u under our API. */
    async uploadCertificate(ctx: RequestContext, input: { certificate: string; trustAnchor: boolean }): Promise<CertificateView> {
      if (input.trustAnchor && !voicePolicy.manageTrustAnchors(ctx.principal))
        throw new DomainError('forbidden', 'only the regulator may upload trust anchors');
      const { chain, spc } = await checkUpload(input.certificate, input.trustAnchor);
      const operatorId = spc === null ? null : await spcOwner(ctx, spc);
      const cert = chain[0]!;
      const fingerprint = cert.fingerprint256;
      if (await repo.activeWithFingerprint(fingerprint))
        throw new DomainError('conflict', `this certificate is already in the store (fingerprint ${fingerprint})`);
      const id = deps.ids();
      const row = {
        id,
        operatorId,
        x5u: `${baseUrl}/api/v1/voice/stir/certificates/${id}.pem`,
        pem: toPemBundle(chain),
        fingerprint,
        subject: cert.subject.replace(/\n/g, ', '),
        trustAnchor: input.trustAnchor,
        ...chainValidity(chain),
        createdAt: deps.clock(),
      };
      await deps.run(ctx, async (change) => {
        await stirRepository(change.db).insertCertificate(row);
        await change.audit({
          action: 'voice.stir.certificate.upload',
          subjectType: 'stir_certificate',
          subject: id,
          detail: { fingerprint, subject: row.subject, trustAnchor: row.trustAnchor },
        });
        await change.publish(CERTIFICATES_CHANGED, { id, x5u: row.x5u, change: 'uploaded' });
      });
      await applied();
      return view({ ...row, revokedAt: null });
    },

    async listCertificates(): Promise<CertificateView[]> {
      return (await repo.certificates()).map(view);
    },

    /**
     * The chain behind an x5u (end entity, then intermediates) and how long it may be cached. Revoked certificates,
     * and those whose trust anchor has been revoked, are no longer served.
     */
    async certificatePem(id: string): Promise<{ pem: string; maxAgeSeconds: number }> {
      const cert = await repo.certificate(id);
      if (!cert || cert.revokedAt) throw new DomainError('not_found', `no current certificate ${id}`);
      const now = deps.clock();
      if (!cert.trustAnchor) {
        const [leaf, ...intermediates] = parseBundle(cert.pem) ?? [];
        if (!leaf || !chainToAnchor(leaf, intermediates, await anchorsAt(now)).ok)
          throw new DomainError('not_found', `no current certificate ${id}: it no longer chains to a trust anchor in the store`);
      }
      const left = Math.floor((cert.notAfter.getTime() - now.getTime()) / 1000);
      return { pem: cert.pem, maxAgeSeconds: Math.max(0, Math.min(X5U_MAX_AGE_SECONDS, left)) };
    },

    ...createStirTrustLists({ ...deps, applied }),

    /** Whether the x5u we give out are https (SHAKEN verifiers fetch only https). */
    servesHttps: baseUrl.startsWith('https://'),

    /** Revokes a certificate: the operator its own, the regulator any (trust anchors only the regulator). Idempotent. */
    async revokeCertificate(ctx: RequestContext, id: string): Promise<void> {
      const cert = await repo.certificate(id);
      if (!cert) throw new DomainError('not_found', `no certificate ${id}`);
      if (!voicePolicy.revokeCertificate(ctx.principal, cert))
        throw new DomainError(
          'forbidden',
          cert.trustAnchor ? 'only the regulator may revoke trust anchors' : 'an operator may revoke only its own certificates',
        );
      await deps.run(ctx, async (change) => {
        if (!(await stirRepository(change.db).revoke(id, deps.clock()))) return;
        await change.audit({
          action: 'voice.stir.certificate.revoke',
          subjectType: 'stir_certificate',
          subject: id,
          detail: { fingerprint: cert.fingerprint, trustAnchor: cert.trustAnchor },
        });
        await change.publish(CERTIFICATES_CHANGED, { id, x5u: cert.x5u, change: 'revoked' });
      });
      await applied();
    },

    /** Sets the calling operator's signing credential: one of its certificates and the matching PKCS#8 private key. */
    async setCredential(
      ctx: RequestContext,
      input: { certificateId: string; privateKey: string },
    ): Promise<{ certificateId: string; x5u: string; storedAt: Date }> {
      const operatorId = requireOrg(ctx.principal.orgId, 'hold a signing credential');
      const row = await repo.certificate(input.certificateId);
      if (!row || !voicePolicy.useCertificate(ctx.principal, row))
        throw new DomainError('not_found', `no certificate ${input.certificateId} of your organisation`);
      if (row.revokedAt) throw new DomainError('unprocessable', 'the certificate has been revoked');
      const cert = parseBundle(row.pem)?.[0];
      const key = parsePrivateKey(input.privateKey);
      if (!key) throw new DomainError('unprocessable', 'privateKey is not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)');
      if (!cert || !keyMatches(key, cert)) throw new DomainError('unprocessable', 'the private key does not match the certificate’s public key');
      const storedAt = deps.clock();
      await deps.run(ctx, async (change) => {
        await stirRepository(change.db).upsertCredential(
          { operatorId, certificateId: row.id, privateKeyEnc: cipher.seal(input.privateKey, operatorId) },
          storedAt,
        );
        await change.audit({ action: 'voice.stir.credential.set', subjectType: 'stir_certificate', subject: row.id });
      });
      return { certificateId: row.id, x5u: row.x5u, storedAt };
    },

    /** The authentication service: a SHAKEN PASSporT signed with the calling operator's credential, as an Identity header. */
    async sign(ctx: RequestContext, input: SignRequest) {
      const operatorId = requireOrg(voicePolicy.signsAs(ctx.principal), 'sign calls');
      const orig = canonicalTn(input.orig);
      const dest = canonicalTn(input.dest);
      const errors = [
        ...(orig === null ? [{ field: 'body.orig', message: `"${input.orig}" is not a telephone number` }] : []),
        ...(dest === null ? [{ field: 'body.dest', message: `"${input.dest}" is not a telephone number` }] : []),
      ];
      if (orig === null || dest === null) throw new DomainError('invalid', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors });
      const credential = await repo.credential(operatorId);
      if (!credential) throw new DomainError('conflict', 'your organisation has no signing credential; set one with PUT /api/v1/voice/stir/credentials');
      const cert = await repo.certificate(credential.certificateId);
      const now = deps.clock();
      if (!cert || cert.revokedAt || now < cert.notBefore || now > cert.notAfter)
        throw new DomainError('conflict', 'the signing certificate is revoked or expired; upload a new one and set the credential again');
      const header = passportHeader(cert.x5u);
      const payload = passportPayload({ attest: input.attest, orig, dest, iat: Math.floor(now.getTime() / 1000), origid: input.origid ?? deps.ids() });
      const key = await importPKCS8(cipher.open(credential.privateKeyEnc, operatorId), 'ES256');
      const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header).sign(key);
      return { identity: identityHeader(jws, cert.x5u), passport: { header, payload } };
    },
  };
}

export type StirService = ReturnType<typeof createStirService>;
