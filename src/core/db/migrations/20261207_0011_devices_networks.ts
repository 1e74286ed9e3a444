import { sql, type Kysely } from 'kysely';

/**
 * Which operator organisation holds each mobile network (PLMN: MCC + MNC, e.g. `40102`): national reference data,
 * the regulator's. An operator pairs devices only with IMSIs of its own networks.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE devices_networks (
    plmn text PRIMARY KEY,
    operator_id uuid NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
}
