import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { VoiceTables } from '../tables.js';

/**
 * Who holds each staged number now (`s` the staged rows, `p` its entry in the register): the operator it is ported
 * to, else the holder of its longest range prefix (ranges are 7 and 1–6 more digits of the national number).
 */
const HOLDER = sql`coalesce(p.operator_id, (
    select h.operator_id from voice_range_holders h
    where h.prefix in (${sql.join([2, 3, 4, 5, 6, 7].map((n) => sql`substr(s.msisdn, 3, ${sql.lit(n)})`))})
    order by length(h.prefix) desc limit 1
  ))::text`;

/** The staged rows (`msisdn`, `operator_id`, `ported_at`, `ingest_line`) with the holder of each number. */
const held = (staged: RawBuilder<unknown>) => sql`(select s.*, ${HOLDER} as holder from ${staged} as s left join voice_ported p on p.msisdn = s.msisdn)`;

/** Holders whose numbers may not be recorded: `none` for numbers no operator holds, `operators` by id. */
export interface RefusedHolders {
  none: boolean;
  operators: string[];
}

const refused = (r: RefusedHolders) => sql`((x.holder is null and ${sql.lit(r.none)}) or x.holder = any(${r.operators}::text[]))`;

/** An imported ported-numbers register: staged rows checked and upserted at once. */
export function portedRepository(db: Kysely<VoiceTables>) {
  return {
    /** The operators holding the staged numbers now (null: none), with how many staged rows each holds. */
    async stagedHolders(staged: RawBuilder<unknown>): Promise<{ holder: string | null; rows: number }[]> {
      const r = await sql<{ holder: string | null; rows: string }>`select x.holder, count(*) as rows from ${held(staged)} as x group by x.holder`.execute(db);
      return r.rows.map((row) => ({ holder: row.holder, rows: Number(row.rows) }));
    },

    /** The first `limit` staged lines, in line order, whose number a refused holder holds. */
    async refusedLines(staged: RawBuilder<unknown>, holders: RefusedHolders, limit: number): Promise<{ line: number; holder: string | null }[]> {
      const r = await sql<{ line: number; holder: string | null }>`select x.ingest_line as line, x.holder from ${held(staged)} as x
        where ${refused(holders)} order by x.ingest_line limit ${sql.lit(limit)}`.execute(db);
      return r.rows;
    },

    /** Records the staged ports, but for numbers a refused holder holds; a number listed twice takes its later line. */
    async upsertStaged(staged: RawBuilder<unknown>, holders: RefusedHolders | null): Promise<void> {
      const rows = holders ? sql`${held(staged)} as x where not ${refused(holders)}` : sql`${staged} as x`;
      await sql`insert into voice_ported (msisdn, operator_id, ported_at)
        select distinct on (x.msisdn) x.msisdn, x.operator_id, x.ported_at from ${rows} order by x.msisdn, x.ingest_line desc
        on conflict (msisdn) do update set operator_id = excluded.operator_id, ported_at = excluded.ported_at, updated_at = now()`.execute(db);
    },
  };
}
