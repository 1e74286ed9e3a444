import { sql, type RawBuilder } from 'kysely';
import type { DevicesDb } from '../tables.js';

/** Imported lost and stolen lists: staged rows (`imei14`, `reference`, `ingest_line`) merged into the blocks at once. */
export function stolenRepository(db: DevicesDb) {
  return {
    /**
     * Blocks every staged IMEI that is not blocked yet, by `source` and no organisation, with its history entry; an IMEI
     * listed twice is blocked once, with its first line's reference. Returns the IMEIs it blocked.
     */
    async blockStaged(staged: RawBuilder<unknown>, source: string): Promise<string[]> {
      const r = await sql<{ imei14: string }>`with blocked as (
          insert into devices_stolen (imei14, case_number, source)
          select distinct on (s.imei14) s.imei14, s.reference, ${source}::text from ${staged} as s order by s.imei14, s.ingest_line
          on conflict (imei14) do nothing
          returning imei14, case_number
        ), logged as (
          insert into devices_stolen_history (imei14, action, case_number, source) select imei14, 'block', case_number, ${source}::text from blocked
        )
        select imei14 from blocked`.execute(db);
      return r.rows.map((row) => row.imei14);
    },
  };
}
