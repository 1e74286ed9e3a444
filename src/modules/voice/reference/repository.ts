import { sql, type Kysely } from 'kysely';
import type { VoiceTables } from '../tables.js';
import type { PortedRow, RoamingRow, TrunkRecord } from './schema.js';

/** Rows per statement: well under PostgreSQL's 65,535 bind parameters. */
const CHUNK = 2_000;

const asArray = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? (JSON.parse(v) as string[]) : []);

/** Queries of the reference data operators and the regulator upload. */
export function referenceRepository(db: Kysely<VoiceTables>) {
  return {
    async upsertRoaming(all: RoamingRow[]): Promise<void> {
      for (let i = 0; i < all.length; i += CHUNK) {
        const rows = all.slice(i, i + CHUNK);
        await db
          .insertInto('voice_roaming')
          .values(rows.map((r) => ({ msisdn: r.msisdn, operator_id: r.operatorId, country: r.country, expires_at: r.expiresAt })))
          .onConflict((oc) =>
            oc.column('msisdn').doUpdateSet({
              operator_id: sql`excluded.operator_id`,
              country: sql`excluded.country`,
              expires_at: sql`excluded.expires_at`,
              updated_at: sql`now()`,
            }),
          )
          .execute();
      }
    },

    async deleteRoaming(msisdns: string[]): Promise<void> {
      for (let i = 0; i < msisdns.length; i += CHUNK)
        await db
          .deleteFrom('voice_roaming')
          .where('msisdn', 'in', msisdns.slice(i, i + CHUNK))
          .execute();
    },

    async liveRoaming(now: Date): Promise<{ msisdn: string; expiresAt: Date }[]> {
      const rows = await db.selectFrom('voice_roaming').select(['msisdn', 'expires_at']).where('expires_at', '>', now).execute();
      return rows.map((r) => ({ msisdn: r.msisdn, expiresAt: r.expires_at }));
    },

    async pruneRoaming(now: Date): Promise<number> {
      const r = await db.deleteFrom('voice_roaming').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    async upsertPorted(rows: PortedRow[]): Promise<void> {
      if (!rows.length) return;
      await db
        .insertInto('voice_ported')
        .values(rows.map((r) => ({ msisdn: r.msisdn, operator_id: r.operatorId, ported_at: r.portedAt })))
        .onConflict((oc) =>
          oc.column('msisdn').doUpdateSet({ operator_id: sql`excluded.operator_id`, ported_at: sql`excluded.ported_at`, updated_at: sql`now()` }),
        )
        .execute();
    },

    async portedCount(): Promise<number> {
      const r = await db
        .selectFrom('voice_ported')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    /** The operators these numbers are ported to (numbers not ported are absent). */
    async portedOperators(msisdns: string[]): Promise<Map<string, string>> {
      const found = new Map<string, string>();
      for (let i = 0; i < msisdns.length; i += CHUNK) {
        const rows = await db
          .selectFrom('voice_ported')
          .select(['msisdn', 'operator_id'])
          .where('msisdn', 'in', msisdns.slice(i, i + CHUNK))
          .execute();
        for (const r of rows) found.set(r.msisdn, r.operator_id);
      }
      return found;
    },

    async rangeHolders(): Promise<{ prefix: string; operatorId: string }[]> {
      return (await db.selectFrom('voice_range_holders').select(['prefix', 'operator_id']).orderBy('prefix').execute()).map((r) => ({
        prefix: r.prefix,
        operatorId: r.operator_id,
      }));
    },

    async putRangeHolder(prefix: string, operatorId: string): Promise<void> {
      await db
        .insertInto('voice_range_holders')
        .values({ prefix, operator_id: operatorId })
        .onConflict((oc) => oc.column('prefix').doUpdateSet({ operator_id: operatorId, updated_at: sql`now()` }))
        .execute();
    },

    async deleteRangeHolder(prefix: string): Promise<boolean> {
      const r = await db.deleteFrom('voice_range_holders').where('prefix', '=', prefix).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async ported(): Promise<{ msisdn: string; operatorId: string }[]> {
      return (await db.selectFrom('voice_ported').select(['msisdn', 'operator_id']).execute()).map((r) => ({ msisdn: r.msisdn, operatorId: r.operator_id }));
    },

    async roamingOf(msisdns: string[]): Promise<{ msisdn: string; expiresAt: Date }[]> {
      const out: { msisdn: string; expiresAt: Date }[] = [];
      for (let i = 0; i < msisdns.length; i += CHUNK) {
        const rows = await db
          .selectFrom('voice_roaming')
          .select(['msisdn', 'expires_at'])
          .where('msisdn', 'in', msisdns.slice(i, i + CHUNK))
          .execute();
        for (const r of rows) out.push({ msisdn: r.msisdn, expiresAt: r.expires_at });
      }
      return out;
    },

    async addDno(entries: { msisdn: string; label: string }[], addedBy: string | null): Promise<void> {
      if (!entries.length) return;
      await db
        .insertInto('voice_dno')
        .values(entries.map((e) => ({ msisdn: e.msisdn, label: e.label, added_by: addedBy })))
        .onConflict((oc) => oc.column('msisdn').doUpdateSet({ label: sql`excluded.label` }))
        .execute();
    },

    async removeDno(msisdn: string): Promise<boolean> {
      const r = await db.deleteFrom('voice_dno').where('msisdn', '=', msisdn).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async listDno(): Promise<{ msisdn: string; label: string; addedAt: Date }[]> {
      const rows = await db.selectFrom('voice_dno').select(['msisdn', 'label', 'added_at']).orderBy('msisdn').execute();
      return rows.map((r) => ({ msisdn: r.msisdn, label: r.label, addedAt: r.added_at }));
    },

    async upsertBlocklisted(msisdn: string, source: string, reference: string | null): Promise<void> {
      await db
        .insertInto('voice_blocklist')
        .values({ msisdn, source, reference })
        .onConflict((oc) => oc.column('msisdn').doUpdateSet({ source: sql`excluded.source`, reference: sql`excluded.reference` }))
        .execute();
    },

    async removeBlocklisted(msisdn: string): Promise<void> {
      await db.deleteFrom('voice_blocklist').where('msisdn', '=', msisdn).execute();
    },

    async blocklist(): Promise<string[]> {
      return (await db.selectFrom('voice_blocklist').select('msisdn').execute()).map((r) => r.msisdn);
    },

    async trunks(): Promise<TrunkRecord[]> {
      const rows = await db.selectFrom('voice_trunks').selectAll().orderBy('id').execute();
      return rows.map((r) => ({ id: r.id, name: r.name, operatorId: r.operator_id, addresses: asArray(r.addresses), ingress: r.ingress }));
    },

    async putTrunk(t: TrunkRecord): Promise<void> {
      const values = { id: t.id, name: t.name, operator_id: t.operatorId, addresses: JSON.stringify(t.addresses), ingress: t.ingress };
      await db
        .insertInto('voice_trunks')
        .values(values)
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({ name: values.name, operator_id: values.operator_id, addresses: values.addresses, ingress: values.ingress, updated_at: sql`now()` }),
        )
        .execute();
    },

    async deleteTrunk(id: string): Promise<boolean> {
      const r = await db.deleteFrom('voice_trunks').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
  };
}

export type ReferenceRepository = ReturnType<typeof referenceRepository>;
