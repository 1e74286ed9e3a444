import type { Kysely, Selectable } from 'kysely';
import type { VoiceStirCertificatesTable, VoiceTables } from '../tables.js';

export interface StirCertificate {
  id: string;
  operatorId: string | null;
  x5u: string;
  pem: string;
  fingerprint: string;
  subject: string;
  trustAnchor: boolean;
  notBefore: Date;
  notAfter: Date;
  revokedAt: Date | null;
  createdAt: Date;
}

type NewCertificate = Omit<StirCertificate, 'revokedAt' | 'createdAt'> & { createdAt: Date };

export interface SpcAssignment {
  spc: string;
  operatorId: string;
  updatedAt: Date;
}

export interface CertificateRepository {
  host: string;
  createdAt: Date;
}

export interface StirCredential {
  operatorId: string;
  certificateId: string;
  privateKeyEnc: string;
}

function toCertificate(r: Selectable<VoiceStirCertificatesTable>): StirCertificate {
  return {
    id: r.id,
    operatorId: r.operator_id,
    x5u: r.x5u,
    pem: r.pem,
    fingerprint: r.fingerprint,
    subject: r.subject,
    trustAnchor: r.trust_anchor,
    notBefore: r.not_before,
    notAfter: r.not_after,
    revokedAt: r.revoked_at,
    createdAt: r.created_at,
  };
}

export function stirRepository(db: Kysely<VoiceTables>) {
  return {
    async certificates(): Promise<StirCertificate[]> {
      return (await db.selectFrom('voice_stir_certificates').selectAll().orderBy('created_at').orderBy('id').execute()).map(toCertificate);
    },
    async certificate(id: string): Promise<StirCertificate | null> {
      const r = await db.selectFrom('voice_stir_certificates').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toCertificate(r) : null;
    },
    async activeAnchors(): Promise<StirCertificate[]> {
      const rows = await db.selectFrom('voice_stir_certificates').selectAll().where('trust_anchor', '=', true).where('revoked_at', 'is', null).execute();
      return rows.map(toCertificate);
    },
    async activeWithFingerprint(fingerprint: string): Promise<StirCertificate | null> {
      const r = await db
        .selectFrom('voice_stir_certificates')
        .selectAll()
        .where('fingerprint', '=', fingerprint)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return r ? toCertificate(r) : null;
    },
    async insertCertificate(c: NewCertificate): Promise<void> {
      await db
        .insertInto('voice_stir_certificates')
        .values({
          id: c.id,
          operator_id: c.operatorId,
          x5u: c.x5u,
          pem: c.pem,
          fingerprint: c.fingerprint,
          subject: c.subject,
          trust_anchor: c.trustAnchor,
          not_before: c.notBefore,
          not_after: c.notAfter,
          created_at: c.createdAt,
        })
        .execute();
    },
    /** Marks a certificate revoked; false when it already was. */
    async revoke(id: string, at: Date): Promise<boolean> {
      const r = await db.updateTable('voice_stir_certificates').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },
    async upsertCredential(c: StirCredential, at: Date): Promise<void> {
      await db
        .insertInto('voice_stir_credentials')
        .values({ operator_id: c.operatorId, certificate_id: c.certificateId, private_key_enc: c.privateKeyEnc, created_at: at })
        .onConflict((oc) => oc.column('operator_id').doUpdateSet({ certificate_id: c.certificateId, private_key_enc: c.privateKeyEnc, created_at: at }))
        .execute();
    },
    async spcs(): Promise<SpcAssignment[]> {
      const rows = await db.selectFrom('voice_stir_spcs').selectAll().orderBy('spc').execute();
      return rows.map((r) => ({ spc: r.spc, operatorId: r.operator_id, updatedAt: r.updated_at }));
    },
    async spcOperator(spc: string): Promise<string | null> {
      return (await db.selectFrom('voice_stir_spcs').select('operator_id').where('spc', '=', spc).executeTakeFirst())?.operator_id ?? null;
    },
    async putSpc(spc: string, operatorId: string, at: Date): Promise<void> {
      await db
        .insertInto('voice_stir_spcs')
        .values({ spc, operator_id: operatorId, updated_at: at })
        .onConflict((oc) => oc.column('spc').doUpdateSet({ operator_id: operatorId, updated_at: at }))
        .execute();
    },
    async deleteSpc(spc: string): Promise<boolean> {
      return (await db.deleteFrom('voice_stir_spcs').where('spc', '=', spc).executeTakeFirst()).numDeletedRows > 0n;
    },
    async repositories(): Promise<CertificateRepository[]> {
      const rows = await db.selectFrom('voice_stir_repositories').selectAll().orderBy('host').execute();
      return rows.map((r) => ({ host: r.host, createdAt: r.created_at }));
    },
    /** Adds a repository host; false when it was already there. */
    async addRepository(host: string, at: Date): Promise<boolean> {
      const r = await db
        .insertInto('voice_stir_repositories')
        .values({ host, created_at: at })
        .onConflict((oc) => oc.column('host').doNothing())
        .returning('host')
        .executeTakeFirst();
      return r !== undefined;
    },
    async deleteRepository(host: string): Promise<boolean> {
      return (await db.deleteFrom('voice_stir_repositories').where('host', '=', host).executeTakeFirst()).numDeletedRows > 0n;
    },
    async credential(operatorId: string): Promise<StirCredential | null> {
      const r = await db.selectFrom('voice_stir_credentials').selectAll().where('operator_id', '=', operatorId).executeTakeFirst();
      return r ? { operatorId: r.operator_id, certificateId: r.certificate_id, privateKeyEnc: r.private_key_enc } : null;
    },
  };
}
