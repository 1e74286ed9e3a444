import { sql, type Kysely } from 'kysely';

/**
 * A trace alert carries the case number of the block that raised it, so the police know which investigation a
 * sighting belongs to. Alerts raised before this column take the case of the block still in place, if any.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE devices_trace_alerts ADD COLUMN case_number text`.execute(db);
  await sql`UPDATE devices_trace_alerts a SET case_number = s.case_number FROM devices_stolen s WHERE s.imei14 = a.imei14`.execute(db);
}
