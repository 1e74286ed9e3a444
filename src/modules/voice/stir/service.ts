import { CompactSign, importPKCS8 } from 'jose';
import type { AuditService } from '../../../core/audit/service.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { Executor } from '../../../core/db/database.js';
import { DomainError } from '../../../core/errors.js';
import type { Outbox } from '../../../core/events/outbox.js';
import { voicePolicy } from '../policy.js';
import type { Attestation } from '../types.js';
import { isP256, issuerAmong, parseCertificate, validAt, validity } from './certificates.js';
import { credentialCipher, keyMatches, parsePrivateKey } from './keys.js';
import { canonicalTn, identityHeader, passportHeader, passportPayload } from './passport.js';
import { stirRepository, type StirCertificate } from './repository.js';
import { createStirVerifier } from './verifier.js';

export const CERTIFICATES_CHANGED = 'voice.stir.certificates.changed';

export interface StirServiceDeps {
  db: Executor;
  audit: AuditService;
  outbox: Outbox;
  clock: () => Date;
  ids: () => string;
  secret: string;
  /** Where this API is reachable from outside, e.g. `https://qalqan.kz`: the base of every certificate's x5u. */
  publicBaseUrl: string;
}

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
  const verifier = createStirVerifier({ repo, clock: deps.clock });

  function requireOrg(orgId: string | null, what: string): string {
    if (!orgId) throw new DomainError('invalid', `only an organisation’s API key can ${what}`);
    return orgId;
  }

  async function checkUpload(pem: string, trustAnchor: boolean) {
    const cert = parseCertificate(pem);
    if (!cert) throw new DomainError('unprocessable', 'certificate is not a PEM-encoded X.509 certificate');
    if (!isP256(cert)) throw new DomainError('unprocessable', 'the certificate key must be EC P-256 (ES256), as SHAKEN requires');
    const now = deps.clock();
    if (!validAt(cert, now)) throw new DomainError('unprocessable', `the certificate is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
    if (trustAnchor) {
      if (!cert.ca) throw new DomainError('unprocessable', 'a trust anchor must be a CA certificate (basicConstraints CA:TRUE)');
      return cert;
    }
    const anchors = (await repo.activeAnchors()).flatMap((a) => {
      const parsed = parseCertificate(a.pem);
      return parsed && validAt(parsed, now) ? [{ cert: parsed }] : [];
    });
    if (!issuerAmong(cert, anchors)) throw new DomainError('unprocessable', `the certificate is not issued and signed by a trust anchor in the store (issuer: ${cert.issuer.replace(/\n/g, ', ')})`);
    return cert;
  }

  return {
    verifier,

    /** Stores an operator's certificate, or (the regulator only) a trust anchor; gives it an x5u under our API. */
    async uploadCertificate(ctx: RequestContext, input: { certificate: string; trustAnchor: boolean }): Promise<CertificateView> {
      if (input.trustAnchor && !voicePolicy.manageTrustAnchors(ctx.principal)) throw new DomainError('forbidden', 'only the regulator may upload trust anchors');
      const operatorId = input.trustAnchor ? null : requireOrg(voicePolicy.certificateOwner(ctx.principal), 'upload a signing certificate');
      const cert = await checkUpload(input.certificate, input.trustAnchor);
      const fingerprint = cert.fingerprint256;
      if (await repo.activeWithFingerprint(fingerprint)) throw new DomainError('conflict', `this certificate is already in the store (fingerprint ${fingerprint})`);
      const id = deps.ids();
      const row = { id, operatorId, x5u: `${baseUrl}/api/v1/voice/stir/certificates/${id}.pem`, pem: cert.toString(), fingerprint, subject: cert.subject.replace(/\n/g, ', '), trustAnchor: input.trustAnchor, ...validity(cert), createdAt: deps.clock() };
      await deps.db.transaction().execute(async (trx) => {
        await stirRepository(trx).insertCertificate(row);
        await deps.audit.record(trx, ctx, { action: 'voice.stir.certificate.upload', subjectType: 'stir_certificate', subject: id, detail: { fingerprint, subject: row.subject, trustAnchor: row.trustAnchor } });
        await deps.outbox.add(trx, CERTIFICATES_CHANGED, { id, x5u: row.x5u, change: 'uploaded' });
      });
      return view({ ...row, revokedAt: null });
    },

    async listCertificates(): Promise<CertificateView[]> {
      return (await repo.certificates()).map(view);
    },

    /** The PEM behind an x5u; revoked certificates are no longer served. */
    async certificatePem(id: string): Promise<string> {
      const cert = await repo.certificate(id);
      if (!cert || cert.revokedAt) throw new DomainError('not_found', `no current certificate ${id}`);
      return cert.pem;
    },

    /** Revokes a certificate: the operator its own, the regulator any (trust anchors only the regulator). Idempotent. */
    async revokeCertificate(ctx: RequestContext, id: string): Promise<void> {
      const cert = await repo.certificate(id);
      if (!cert) throw new DomainError('not_found', `no certificate ${id}`);
      if (!voicePolicy.revokeCertificate(ctx.principal, cert)) throw new DomainError('forbidden', cert.trustAnchor ? 'only the regulator may revoke trust anchors' : 'an operator may revoke only its own certificates');
      await deps.db.transaction().execute(async (trx) => {
        if (!(await stirRepository(trx).revoke(id, deps.clock()))) return;
        await deps.audit.record(trx, ctx, { action: 'voice.stir.certificate.revoke', subjectType: 'stir_certificate', subject: id, detail: { fingerprint: cert.fingerprint, trustAnchor: cert.trustAnchor } });
        await deps.outbox.add(trx, CERTIFICATES_CHANGED, { id, x5u: cert.x5u, change: 'revoked' });
      });
    },

    /** Sets the calling operator's signing credential: one of its certificates and the matching PKCS#8 private key. */
    async setCredential(ctx: RequestContext, input: { certificateId: string; privateKey: string }): Promise<{ certificateId: string; x5u: string; storedAt: Date }> {
      const operatorId = requireOrg(ctx.principal.orgId, 'hold a signing credential');
      const row = await repo.certificate(input.certificateId);
      if (!row || !voicePolicy.useCertificate(ctx.principal, row)) throw new DomainError('not_found', `no certificate ${input.certificateId} of your organisation`);
      if (row.revokedAt) throw new DomainError('unprocessable', 'the certificate has been revoked');
      const cert = parseCertificate(row.pem);
      const key = parsePrivateKey(input.privateKey);
      if (!key) throw new DomainError('unprocessable', 'privateKey is not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)');
      if (!cert || !keyMatches(key, cert)) throw new DomainError('unprocessable', 'the private key does not match the certificate’s public key');
      const storedAt = deps.clock();
      await deps.db.transaction().execute(async (trx) => {
        await stirRepository(trx).upsertCredential({ operatorId, certificateId: row.id, privateKeyEnc: cipher.seal(input.privateKey, operatorId) }, storedAt);
        await deps.audit.record(trx, ctx, { action: 'voice.stir.credential.set', subjectType: 'stir_certificate', subject: row.id });
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
      if (!cert || cert.revokedAt || now < cert.notBefore || now > cert.notAfter) throw new DomainError('conflict', 'the signing certificate is revoked or expired; upload a new one and set the credential again');
      const header = passportHeader(cert.x5u);
      const payload = passportPayload({ attest: input.attest, orig, dest, iat: Math.floor(now.getTime() / 1000), origid: input.origid ?? deps.ids() });
      const key = await importPKCS8(cipher.open(credential.privateKeyEnc, operatorId), 'ES256');
      const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header).sign(key);
      return { identity: identityHeader(jws, cert.x5u), passport: { header, payload } };
    },
  };
}

export type StirService = ReturnType<typeof createStirService>;
