import { sql, type Kysely } from 'kysely';

/**
 * A pairing records the organisation that made it: it is removed only by that organisation or the regulator.
 * Pairings made before this column have none, so only the regulator removes them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE devices_pairings ADD COLUMN org_id uuid`.execute(db);
}
