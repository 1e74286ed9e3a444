import { sql } from 'kysely';
import type { ConditionName, DevicesDb, DeviceStatus } from '../tables.js';
import { KZ_MCC } from '../../../identifiers/imsi.js';

export interface NewTraceAlert {
  id: string;
  imei14: string;
  policeOrgId: string;
  operatorId: string;
  imsi: string;
  msisdn: string | null;
  seenOn: string;
  /** The case number of the block that raised the alert; null only for alerts older than the column whose block is gone. */
  caseNumber: string | null;
}

export interface TraceAlertRow extends Omit<NewTraceAlert, 'policeOrgId'> {
  policeOrgId: string | null;
  createdAt: Date;
}

export interface Condition {
  name: ConditionName;
  blocking: boolean;
  graceDays: number;
  sticky: boolean;
  enabled: boolean;
  params: Record<string, unknown>;
}

export interface Classification {
  status: DeviceStatus;
  reasons: string[];
  firstFlagged: string | null;
  deadline: string | null;
}

/** What classification needs to know about one IMEI. `imsis` counts every IMSI seen with it, `recentImsis` those seen since the window start. */
export interface DeviceFacts {
  imei14: string;
  seen: boolean;
  registered: boolean;
  tacKnown: boolean;
  stolen: boolean;
  ordered: boolean;
  /** Seen with a Kazakh IMSI that is not paired with it (roamers and paired SIMs are exempt from registration). */
  homeUnpaired: boolean;
  imsis: number;
  recentImsis: number;
  previous: Classification | null;
}

export function networkRepository(db: DevicesDb) {
  return {
    /**
     * Turns JIT compilation off for the rest of the transaction: classification and list queries are many cheap
     * index lookups, and right after a bulk import stale statistics make the planner JIT-compile them for seconds.
     */
    async withoutJit(): Promise<void> {
      await sql`set local jit = off`.execute(db);
    },

    /** A police organisation's alerts (every one with null), newest first, after the (createdAt, id) cursor when given. */
    async traceAlertsFor(policeOrgId: string | null, limit: number, before?: { createdAt: Date; id: string }): Promise<TraceAlertRow[]> {
      let query = db
        .selectFrom('devices_trace_alerts as a')
        .select(['a.id', 'a.imei14', 'a.police_org_id', 'a.operator_id', 'a.imsi', 'a.msisdn', 'a.seen_on', 'a.case_number', 'a.created_at']);
      if (policeOrgId !== null) query = query.where('a.police_org_id', '=', policeOrgId);
      if (before) query = query.where((eb) => eb(eb.refTuple('a.created_at', 'a.id'), '<', eb.tuple(before.createdAt, before.id)));
      const rows = await query.orderBy('a.created_at', 'desc').orderBy('a.id', 'desc').limit(limit).execute();
      return rows.map((r) => ({
        id: r.id,
        imei14: r.imei14,
        policeOrgId: r.police_org_id,
        operatorId: r.operator_id,
        imsi: r.imsi,
        msisdn: r.msisdn,
        seenOn: r.seen_on,
        caseNumber: r.case_number,
        createdAt: r.created_at,
      }));
    },

    async conditions(): Promise<Condition[]> {
      const rows = await db.selectFrom('devices_conditions').selectAll().orderBy('name').execute();
      return rows.map((r) => ({ name: r.name, blocking: r.blocking, graceDays: r.grace_days, sticky: r.sticky, enabled: r.enabled, params: r.params }));
    },

    async updateCondition(c: Condition): Promise<boolean> {
      const r = await db
        .updateTable('devices_conditions')
        .set({ blocking: c.blocking, grace_days: c.graceDays, sticky: c.sticky, enabled: c.enabled, params: JSON.stringify(c.params) })
        .where('name', '=', c.name)
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    /**
     * The next IMEIs after `after` that classification looks at: seen, stolen, ordered or already classified. The
     * distinct observed IMEIs are found by one index probe each (a loose index scan), whatever the statistics.
     */
    async imeisToClassify(after: string, limit: number): Promise<string[]> {
      const { rows } = await sql<{ imei14: string }>`
        with recursive seen(imei14, n) as (
          (select imei14, 1 from devices_observations where imei14 > ${after} order by imei14 limit 1)
          union all
          select (select o.imei14 from devices_observations o where o.imei14 > seen.imei14 order by o.imei14 limit 1), n + 1
            from seen where seen.imei14 is not null and n < ${limit}
        )
        select imei14 from (
          (select imei14 from seen where imei14 is not null)
          union (select imei14 from devices_stolen where imei14 > ${after} order by imei14 limit ${limit})
          union (select imei14 from devices_orders where imei14 > ${after} order by imei14 limit ${limit})
          union (select imei14 from devices_classification where imei14 > ${after} order by imei14 limit ${limit})
        ) as u order by imei14 limit ${limit}`.execute(db);
      return rows.map((r) => r.imei14);
    },

    /** Facts of these IMEIs, looked up one IMEI at a time through the indexes (lateral joins), whatever the statistics. */
    async facts(imei14s: string[], windowStart: string): Promise<DeviceFacts[]> {
      if (!imei14s.length) return [];
      const { rows } = await sql<{
        imei14: string;
        seen: boolean;
        registered: boolean;
        tac_known: boolean;
        stolen: boolean;
        ordered: boolean;
        home_unpaired: boolean;
        imsis: number;
        recent_imsis: number;
        status: DeviceStatus | null;
        reasons: string[] | null;
        first_flagged: string | null;
        deadline: string | null;
      }>`
        select i.imei14, obs.imsis > 0 as seen, r.hit is not null as registered, t.hit is not null as tac_known,
          s.hit is not null as stolen, d.hit is not null as ordered, obs.home_unpaired, obs.imsis, obs.recent_imsis,
          c.status, c.reasons, c.first_flagged, c.deadline
        from unnest(${imei14s}::char(14)[]) as i(imei14)
        cross join lateral (
          select count(distinct o.imsi)::int as imsis,
                 (count(distinct o.imsi) filter (where o.last_seen >= ${windowStart}::date))::int as recent_imsis,
                 coalesce(bool_or(left(o.imsi, 3) = ${KZ_MCC} and p.imsi is null), false) as home_unpaired
          from devices_observations o
          left join devices_pairings p on p.imei14 = o.imei14 and p.imsi = o.imsi
          where o.imei14 = i.imei14) as obs
        left join lateral (select true as hit from devices_registrations x where x.imei14 = i.imei14 limit 1) as r on true
        left join lateral (select true as hit from devices_tac x where x.tac = left(i.imei14, 8)::char(8) limit 1) as t on true
        left join lateral (select true as hit from devices_stolen x where x.imei14 = i.imei14 limit 1) as s on true
        left join lateral (select true as hit from devices_orders x where x.imei14 = i.imei14 limit 1) as d on true
        left join lateral (select * from devices_classification x where x.imei14 = i.imei14 limit 1) as c on true`.execute(db);
      return rows.map((r) => ({
        imei14: r.imei14,
        seen: r.seen,
        registered: r.registered,
        tacKnown: r.tac_known,
        stolen: r.stolen,
        ordered: r.ordered,
        homeUnpaired: r.home_unpaired,
        imsis: r.imsis,
        recentImsis: r.recent_imsis,
        previous: r.status ? { status: r.status, reasons: r.reasons ?? [], firstFlagged: r.first_flagged, deadline: r.deadline } : null,
      }));
    },

    async saveClassifications(rows: (Classification & { imei14: string })[], at: Date): Promise<void> {
      if (!rows.length) return;
      await db
        .insertInto('devices_classification')
        .values(
          rows.map((r) => ({ imei14: r.imei14, status: r.status, reasons: r.reasons, first_flagged: r.firstFlagged, deadline: r.deadline, updated_at: at })),
        )
        .onConflict((oc) =>
          oc.column('imei14').doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            reasons: eb.ref('excluded.reasons'),
            first_flagged: eb.ref('excluded.first_flagged'),
            deadline: eb.ref('excluded.deadline'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },

    async deleteClassifications(imei14s: string[]): Promise<void> {
      if (imei14s.length) await db.deleteFrom('devices_classification').where('imei14', 'in', imei14s).execute();
    },

    /** Records that these IMEIs are owed a classification (again, with a new mark, if they already were). */
    async queuePending(imei14s: string[]): Promise<void> {
      if (!imei14s.length) return;
      await sql`insert into devices_classification_pending (imei14)
        select distinct unnest(${imei14s}::char(14)[]) order by 1
        on conflict (imei14) do update set mark = excluded.mark`.execute(db);
    },

    /** The oldest owed classifications, at most `limit`. */
    async pendingPage(limit: number): Promise<{ imei14: string; mark: string }[]> {
      return db.selectFrom('devices_classification_pending').select(['imei14', 'mark']).orderBy('mark').limit(limit).execute();
    },

    /**
     * Deletes these owed classifications unless queued again since they were read (a new mark); returns the IMEIs
     * deleted. (A change that queues one of them while this runs waits for this transaction, or keeps its own mark.)
     */
    async settlePending(owed: { imei14: string; mark: string }[]): Promise<string[]> {
      if (!owed.length) return [];
      const { rows } = await sql<{ imei14: string }>`delete from devices_classification_pending p
        using unnest(${owed.map((o) => o.imei14)}::char(14)[], ${owed.map((o) => o.mark)}::bigint[]) as s(imei14, mark)
        where p.imei14 = s.imei14 and p.mark = s.mark
        returning p.imei14`.execute(db);
      return rows.map((r) => r.imei14);
    },

    /** The newest mark owed now (null when nothing is owed): a full classification settles everything up to it. */
    async lastPendingMark(): Promise<string | null> {
      const r = await db
        .selectFrom('devices_classification_pending')
        .select((eb) => eb.fn.max('mark').as('mark'))
        .executeTakeFirst();
      return r?.mark ?? null;
    },

    async settlePendingUpTo(mark: string): Promise<void> {
      await db.deleteFrom('devices_classification_pending').where('mark', '<=', mark).execute();
    },

    async findStolen(imei14: string) {
      return db.selectFrom('devices_stolen').selectAll().where('imei14', '=', imei14).executeTakeFirst();
    },
    /** The block with its row locked until the transaction ends, so the one checked is the one lifted. */
    async lockStolen(imei14: string) {
      return db.selectFrom('devices_stolen').selectAll().where('imei14', '=', imei14).forUpdate().executeTakeFirst();
    },
    async insertStolen(row: { imei14: string; caseNumber: string; source: string; orgId: string | null }): Promise<boolean> {
      const r = await db
        .insertInto('devices_stolen')
        .values({ imei14: row.imei14, case_number: row.caseNumber, source: row.source, org_id: row.orgId })
        .onConflict((oc) => oc.column('imei14').doNothing())
        .returning('imei14')
        .executeTakeFirst();
      if (r)
        await db
          .insertInto('devices_stolen_history')
          .values({ imei14: row.imei14, action: 'block', case_number: row.caseNumber, source: row.source, org_id: row.orgId })
          .execute();
      return r !== undefined;
    },
    async deleteStolen(imei14: string, orgId: string | null): Promise<{ caseNumber: string } | null> {
      const r = await db.deleteFrom('devices_stolen').where('imei14', '=', imei14).returning(['case_number', 'source']).executeTakeFirst();
      if (r)
        await db
          .insertInto('devices_stolen_history')
          .values({ imei14, action: 'unblock', case_number: r.case_number, source: r.source, org_id: orgId })
          .execute();
      return r ? { caseNumber: r.case_number } : null;
    },
    async insertOrder(imei14: string, orderRef: string): Promise<boolean> {
      const r = await db
        .insertInto('devices_orders')
        .values({ imei14, order_ref: orderRef })
        .onConflict((oc) => oc.column('imei14').doNothing())
        .returning('imei14')
        .executeTakeFirst();
      return r !== undefined;
    },
    async deleteOrder(imei14: string): Promise<string | null> {
      const r = await db.deleteFrom('devices_orders').where('imei14', '=', imei14).returning('order_ref').executeTakeFirst();
      return r?.order_ref ?? null;
    },
    async addPairing(imei14: string, imsi: string, orgId: string | null): Promise<boolean> {
      const r = await db
        .insertInto('devices_pairings')
        .values({ imei14, imsi, org_id: orgId })
        .onConflict((oc) => oc.columns(['imei14', 'imsi']).doNothing())
        .returning('imei14')
        .executeTakeFirst();
      return r !== undefined;
    },

    /** The pairing with its row locked until the transaction ends, so the one checked is the one removed. */
    async lockPairing(imei14: string, imsi: string): Promise<{ orgId: string | null } | null> {
      const r = await db.selectFrom('devices_pairings').select('org_id').where('imei14', '=', imei14).where('imsi', '=', imsi).forUpdate().executeTakeFirst();
      return r ? { orgId: r.org_id } : null;
    },

    async removePairing(imei14: string, imsi: string): Promise<boolean> {
      const r = await db.deleteFrom('devices_pairings').where('imei14', '=', imei14).where('imsi', '=', imsi).executeTakeFirst();
      return r.numDeletedRows > 0n;
    },
  };
}

export type NetworkRepository = ReturnType<typeof networkRepository>;
