import { sql } from 'kysely';
import type { DevicesDb } from '../tables.js';

export interface NetworkHolder {
  plmn: string;
  operatorId: string;
}

/** Which operator organisation holds each mobile network (`devices_networks`). */
export function networksRepository(db: DevicesDb) {
  return {
    async all(): Promise<NetworkHolder[]> {
      const rows = await db.selectFrom('devices_networks').select(['plmn', 'operator_id']).orderBy('plmn').execute();
      return rows.map((r) => ({ plmn: r.plmn, operatorId: r.operator_id }));
    },

    async holderOf(plmn: string): Promise<string | null> {
      return (await db.selectFrom('devices_networks').select('operator_id').where('plmn', '=', plmn).executeTakeFirst())?.operator_id ?? null;
    },

    async put(plmn: string, operatorId: string): Promise<void> {
      await db
        .insertInto('devices_networks')
        .values({ plmn, operator_id: operatorId })
        .onConflict((oc) => oc.column('plmn').doUpdateSet({ operator_id: operatorId, updated_at: sql`now()` }))
        .execute();
    },

    async remove(plmn: string): Promise<boolean> {
      return (await db.deleteFrom('devices_networks').where('plmn', '=', plmn).executeTakeFirst()).numDeletedRows > 0n;
    },
  };
}
