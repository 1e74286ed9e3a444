import { sql, type RawBuilder } from 'kysely';
import type { DevicesDb } from '../tables.js';

/** A trace alert an import raised: what its event names. */
export interface RaisedTraceAlert {
  id: string;
  imei14: string;
  policeOrgId: string;
  operatorId: string;
  caseNumber: string;
}

/**
 * The value of `column` in the latest row of the group that has one (latest day, then latest line): the MSISDN or
 * RAT a pair was last seen with.
 */
const latest = (column: 'msisdn' | 'rat') =>
  sql`(array_agg(${sql.ref(`s.${column}`)} order by s.day desc, s.ingest_line desc) filter (where ${sql.ref(`s.${column}`)} is not null))[1]`;

/**
 * Set-based merges of staged observations into this module's tables. `source` is a slice of the staging table
 * (columns day, imei14, imsi, msisdn, rat and ingest_line), placed where a table goes.
 */
export function observationsRepository(db: DevicesDb) {
  return {
    /**
     * Upserts the slice's pairs of one operator (first seen = earliest, last seen = latest, MSISDN and RAT of the
     * latest row that has one, combined with the stored pair); returns how many pairs were new.
     */
    async mergePairs(operatorId: string, source: RawBuilder<unknown>): Promise<number> {
      const { rows } = await sql<{ inserted: number }>`
        with merged as (
          insert into devices_observations as o (imei14, imsi, operator_id, msisdn, rat, first_seen, last_seen)
          select s.imei14, s.imsi, ${operatorId}::uuid, ${latest('msisdn')}, ${latest('rat')}, min(s.day), max(s.day)
          from ${source} as s
          group by s.imei14, s.imsi
          on conflict (imei14, imsi, operator_id) do update set
            first_seen = least(o.first_seen, excluded.first_seen),
            last_seen = greatest(o.last_seen, excluded.last_seen),
            msisdn = case when excluded.last_seen >= o.last_seen then coalesce(excluded.msisdn, o.msisdn) else o.msisdn end,
            rat = case when excluded.last_seen >= o.last_seen then coalesce(excluded.rat, o.rat) else o.rat end
          -- A row this statement inserted has no locker; an updated one carries this transaction's id in xmax.
          returning (o.xmax = 0) as inserted
        )
        select count(*) filter (where inserted)::int as inserted from merged`.execute(db);
      return rows[0]?.inserted ?? 0;
    },

    /**
     * Raises a trace alert for each pair of the slice whose IMEI is blocked as stolen by a police organisation and
     * was seen on or after the day (in Kazakhstan, UTC+5) it was blocked, unless one was raised before for that IMEI,
     * operator and IMSI; returns those raised.
     */
    async raiseTraceAlerts(operatorId: string, source: RawBuilder<unknown>, at: Date): Promise<RaisedTraceAlert[]> {
      const { rows } = await sql<{ id: string; imei14: string; police_org_id: string; operator_id: string; case_number: string }>`
        with pairs as (
          select s.imei14, s.imsi, ${latest('msisdn')} as msisdn, max(s.day) as seen_on from ${source} as s group by s.imei14, s.imsi
        )
        insert into devices_trace_alerts (id, imei14, police_org_id, operator_id, imsi, msisdn, seen_on, case_number, created_at)
        select gen_random_uuid(), p.imei14, st.org_id, ${operatorId}::uuid, p.imsi, p.msisdn, p.seen_on, st.case_number, ${at}::timestamptz
        from pairs p
        -- One index probe per pair (LIMIT keeps the planner from hash-joining the whole stolen list for every slice).
        cross join lateral (select x.org_id, x.case_number, x.blocked_at from devices_stolen x where x.imei14 = p.imei14 limit 1) st
        where st.org_id is not null and p.seen_on >= ((st.blocked_at at time zone 'UTC') + interval '5 hours')::date
        on conflict (imei14, operator_id, imsi) do nothing
        returning id, imei14, police_org_id, operator_id, case_number`.execute(db);
      return rows
        .map((r) => ({ id: r.id, imei14: r.imei14, policeOrgId: r.police_org_id, operatorId: r.operator_id, caseNumber: r.case_number }))
        .sort((a, b) => (a.imei14 < b.imei14 ? -1 : a.imei14 > b.imei14 ? 1 : 0));
    },

    /** Records that the slice's IMEIs are owed a classification (again, with a new mark, if they already were). */
    async queuePending(source: RawBuilder<unknown>): Promise<void> {
      await sql`insert into devices_classification_pending (imei14)
        select distinct s.imei14 from ${source} as s order by 1
        on conflict (imei14) do update set mark = excluded.mark`.execute(db);
    },
  };
}
