import { sql, type RawBuilder } from 'kysely';
import type { DevicesDb } from '../tables.js';

/** Imported lost and stolen lists: staged rows (`imei14`, `reference`, `ingest_line`) merged into the blocks at once. */
export function stolenRepository(db: DevicesDb) {
  return {
    /**
     * Blocks every staged IMEI that is not blocked yet, by `source` and no organisation, with its history entry; an IMEI
     * listed twice is blocked once, with its first line's reference, and queued for classification. Returns how many it
     * blocked and the first `keep` of them (a first import of a national list may block millions: they stay in SQL).
     */
    async blockStaged(staged: RawBuilder<unknown>, source: string, keep: number): Promise<{ total: number; first: string[] }> {
      const r = await sql<{ total: number; first: string[] }>`with blocked as (
          insert into devices_stolen (imei14, case_number, source)
          select distinct on (s.imei14) s.imei14, s.reference, ${source}::text from ${staged} as s order by s.imei14, s.ingest_line
          on conflict (imei14) do nothing
          returning imei14, case_number
        ), logged as (
          insert into devices_stolen_history (imei14, action, case_number, source) select imei14, 'block', case_number, ${source}::text from blocked
        ), queued as (
          insert into devices_classification_pending (imei14) select imei14 from blocked order by 1
          on conflict (imei14) do update set mark = excluded.mark
        )
        select (select count(*) from blocked)::int as total, array(select imei14::text from blocked limit ${keep}) as first`.execute(db);
      return { total: r.rows[0]?.total ?? 0, first: r.rows[0]?.first ?? [] };
    },
  };
}
