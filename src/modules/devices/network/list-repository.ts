import { sql } from 'kysely';
import type { DevicesDb, ListKind } from '../tables.js';

/** The black list is one list for every operator, stored under this operator id. */
export const GLOBAL_LIST_OPERATOR = '00000000-0000-0000-0000-000000000000';

export interface ListEntry {
  imei14: string;
  imsi: string;
  msisdn: string | null;
  reason: string;
}

export interface ListChange extends ListEntry {
  version: string;
  op: 'add' | 'remove';
}

/**
 * Queries of the list tables. The lists as they should be are computed in SQL into a temporary table and diffed
 * against `devices_list_current` with set operations, so no list is ever held in memory.
 */
export function listRepository(db: DevicesDb) {
  return {
    /**
     * Builds `devices_list_desired` (dropped at commit): black, notification and exception entries as they should be
     * now — of every IMEI, or only of `imei14s`.
     */
    async computeDesired(imei14s?: string[]): Promise<void> {
      const only = (column: string) => (imei14s ? sql`and ${sql.ref(column)} = any(${imei14s}::char(14)[])` : sql``);
      await sql`create temp table devices_list_desired (
          operator_id uuid, kind text, imei14 char(14), imsi text, msisdn text, reason text,
          primary key (operator_id, kind, imei14, imsi)
        ) on commit drop`.execute(db);
      await sql`insert into devices_list_desired
        select ${GLOBAL_LIST_OPERATOR}::uuid, 'black', c.imei14, '', null, array_to_string(c.reasons, '|')
          from devices_classification c where c.status = 'black' ${only('c.imei14')}
        union all
        select o.operator_id, 'notification', c.imei14, o.imsi, o.msisdn, array_to_string(c.reasons, '|') || ';deadline=' || c.deadline::text
          from devices_classification c join devices_observations o on o.imei14 = c.imei14
          where c.status = 'grey' ${only('c.imei14')}
            and not (c.reasons <@ array['not_registered']::text[]
                     and exists (select 1 from devices_pairings p where p.imei14 = o.imei14 and p.imsi = o.imsi))
        union all
        select o.operator_id, 'exception', p.imei14, p.imsi, o.msisdn, 'pairing'
          from devices_pairings p
          join devices_observations o on o.imei14 = p.imei14 and o.imsi = p.imsi
          left join devices_classification c on c.imei14 = p.imei14
          where true ${only('p.imei14')} and not exists (select 1 from unnest(c.reasons) as r(name) join devices_conditions d on d.name = r.name
                            where d.blocking and r.name <> 'not_registered')`.execute(db);
    },

    /** Appends a `remove` change for every current entry (of `imei14s` only, when given) no longer desired and drops it; returns how many. */
    async applyRemovals(imei14s?: string[]): Promise<number> {
      const { rows } = await sql<{ n: number }>`
        with removed as (
          insert into devices_list_changes (operator_id, kind, imei14, imsi, msisdn, op, reason)
          select c.operator_id, c.kind, c.imei14, c.imsi, c.msisdn, 'remove',
                 case when c.kind = 'exception' then 'no longer excepted' else coalesce('now ' || k.status, 'cleared') end
            from devices_list_current c
            left join devices_classification k on k.imei14 = c.imei14
            where not exists (select 1 from devices_list_desired d
                              where d.operator_id = c.operator_id and d.kind = c.kind and d.imei14 = c.imei14 and d.imsi = c.imsi)
              ${imei14s ? sql`and c.imei14 = any(${imei14s}::char(14)[])` : sql``}
            order by c.operator_id, c.kind, c.imei14, c.imsi
          returning operator_id, kind, imei14, imsi
        ), dropped as (
          delete from devices_list_current c using removed r
          where c.operator_id = r.operator_id and c.kind = r.kind and c.imei14 = r.imei14 and c.imsi = r.imsi
          returning 1
        )
        select count(*)::int as n from dropped`.execute(db);
      return rows[0]?.n ?? 0;
    },

    /** Appends an `add` change for every desired entry that is new or whose MSISDN or reason changed; returns how many. */
    async applyAdditions(): Promise<number> {
      const { rows } = await sql<{ n: number }>`
        with added as (
          insert into devices_list_changes (operator_id, kind, imei14, imsi, msisdn, op, reason)
          select d.operator_id, d.kind, d.imei14, d.imsi, d.msisdn, 'add', d.reason
            from devices_list_desired d
            where not exists (select 1 from devices_list_current c
                              where c.operator_id = d.operator_id and c.kind = d.kind and c.imei14 = d.imei14 and c.imsi = d.imsi
                                and c.msisdn is not distinct from d.msisdn and c.reason = d.reason)
            order by d.operator_id, d.kind, d.imei14, d.imsi
          returning version, operator_id, kind, imei14, imsi, msisdn, reason
        ), stored as (
          insert into devices_list_current (operator_id, kind, imei14, imsi, msisdn, reason, version)
          select operator_id, kind, imei14, imsi, msisdn, reason, version from added
          on conflict (operator_id, kind, imei14, imsi)
            do update set msisdn = excluded.msisdn, reason = excluded.reason, version = excluded.version
          returning 1
        )
        select count(*)::int as n from stored`.execute(db);
      return rows[0]?.n ?? 0;
    },

    /** The latest change version of one list (0 when it never changed). */
    async version(operatorId: string, kind: ListKind): Promise<number> {
      const r = await db
        .selectFrom('devices_list_changes')
        .select((eb) => eb.fn.max('version').as('v'))
        .where('operator_id', '=', operatorId)
        .where('kind', '=', kind)
        .executeTakeFirst();
      return Number(r?.v ?? 0);
    },

    /** A page of the current list as of `upTo`, after the (imei14, imsi) cursor. */
    async entries(operatorId: string, kind: ListKind, upTo: number, after: { imei14: string; imsi: string } | null, limit: number): Promise<ListEntry[]> {
      let query = db
        .selectFrom('devices_list_current')
        .select(['imei14', 'imsi', 'msisdn', 'reason'])
        .where('operator_id', '=', operatorId)
        .where('kind', '=', kind)
        .where('version', '<=', String(upTo));
      if (after) query = query.where((eb) => eb(eb.refTuple('imei14', 'imsi'), '>', eb.tuple(after.imei14, after.imsi)));
      return query.orderBy('imei14').orderBy('imsi').limit(limit).execute();
    },

    /** A page of changes with a version in (after, upTo]. */
    async changes(operatorId: string, kind: ListKind, after: number, upTo: number, limit: number): Promise<ListChange[]> {
      return db
        .selectFrom('devices_list_changes')
        .select(['version', 'op', 'imei14', 'imsi', 'msisdn', 'reason'])
        .where('operator_id', '=', operatorId)
        .where('kind', '=', kind)
        .where('version', '>', String(after))
        .where('version', '<=', String(upTo))
        .orderBy('version')
        .limit(limit)
        .execute();
    },
  };
}
