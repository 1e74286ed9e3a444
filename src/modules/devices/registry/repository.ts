import { sql, type RawBuilder } from 'kysely';
import type { DevicesDb, RegistrationSource } from '../tables.js';

export interface TacRecord {
  tac: string;
  manufacturer: string;
  modelName: string;
  bands: string | null;
  allocationDate: string | null;
  deviceType: string | null;
}

/** Why `registerStaged` rejects a line (the checks of registration.ts that need the database). */
export type StagedRejectReason = 'DUPLICATE_IN_REQUEST' | 'TAC_UNKNOWN' | 'ALREADY_REGISTERED' | 'REPORTED_STOLEN';

export interface NewRegistration {
  imei14: string;
  imei: string;
  source: RegistrationSource;
  reference: string | null;
  orgId: string | null;
}

/** The TAC database and the registrations (and the counts statistics show). */
export function registryRepository(db: DevicesDb) {
  return {
    /** Staged TACs (`tac`, `manufacturer`, `model_name`, `bands`, `allocation_date`, `device_type`) in; a TAC staged twice takes its later line. */
    async mergeStagedTacs(staged: RawBuilder<unknown>): Promise<void> {
      await sql`insert into devices_tac (tac, manufacturer, model_name, bands, allocation_date, device_type, updated_at)
        select distinct on (tac) tac, manufacturer, model_name, bands, allocation_date, device_type, now()
        from ${staged} as s order by tac, ingest_line desc
        on conflict (tac) do update set manufacturer = excluded.manufacturer, model_name = excluded.model_name, bands = excluded.bands,
          allocation_date = excluded.allocation_date, device_type = excluded.device_type, updated_at = excluded.updated_at`.execute(db);
    },
    async deleteAllTacs(): Promise<void> {
      await db.deleteFrom('devices_tac').execute();
    },
    async findTac(tac: string): Promise<TacRecord | null> {
      const r = await db.selectFrom('devices_tac').selectAll().where('tac', '=', tac).executeTakeFirst();
      return r
        ? { tac: r.tac, manufacturer: r.manufacturer, modelName: r.model_name, bands: r.bands, allocationDate: r.allocation_date, deviceType: r.device_type }
        : null;
    },
    async existingTacs(tacs: string[]): Promise<Set<string>> {
      if (!tacs.length) return new Set();
      const rows = await db.selectFrom('devices_tac').select('tac').where('tac', 'in', tacs).execute();
      return new Set(rows.map((r) => r.tac));
    },
    async registeredAmong(imei14s: string[]): Promise<Set<string>> {
      if (!imei14s.length) return new Set();
      const rows = await db.selectFrom('devices_registrations').select('imei14').where('imei14', 'in', imei14s).execute();
      return new Set(rows.map((r) => r.imei14));
    },
    async stolenAmong(imei14s: string[]): Promise<Set<string>> {
      if (!imei14s.length) return new Set();
      const rows = await db.selectFrom('devices_stolen').select('imei14').where('imei14', 'in', imei14s).execute();
      return new Set(rows.map((r) => r.imei14));
    },
    /** Inserts registrations; returns the IMEIs actually inserted (a concurrent duplicate is skipped). */
    async insertRegistrations(rows: NewRegistration[]): Promise<string[]> {
      if (!rows.length) return [];
      const inserted = await db
        .insertInto('devices_registrations')
        .values(rows.map((r) => ({ imei14: r.imei14, imei: r.imei, source: r.source, reference: r.reference, org_id: r.orgId })))
        .onConflict((oc) => oc.column('imei14').doNothing())
        .returning('imei14')
        .execute();
      return inserted.map((r) => r.imei14);
    },
    /**
     * Registers staged candidates (`imei14`, `imei`, `reference`; well-formed IMEIs) with registerBatch's checks, in its
     * order: a duplicate of an earlier line, an unknown TAC, already registered, reported stolen. Every line of an IMEI
     * must be in `staged` (the import slices by IMEI). The IMEIs registered are queued for classification here; how
     * many, and the first `keep` of them, come back with the rejected lines and their reasons, in line order.
     */
    async registerStaged(
      staged: RawBuilder<unknown>,
      source: RegistrationSource,
      orgId: string | null,
      keep: number,
    ): Promise<{ rejected: { line: number; reason: StagedRejectReason }[]; registered: { total: number; first: string[] } }> {
      const { rows } = await sql<{ line: number | null; reason: StagedRejectReason | null; total: number; first: string[] | null }>`
        with ranked as (
          select ingest_line, imei14, imei, reference, row_number() over (partition by imei14 order by ingest_line) as nth from ${staged} as s
        ), checked as (
          select k.ingest_line, k.imei14, k.imei, k.reference, case
            when k.nth > 1 then 'DUPLICATE_IN_REQUEST'
            when t.tac is null then 'TAC_UNKNOWN'
            when r.hit then 'ALREADY_REGISTERED'
            when x.hit then 'REPORTED_STOLEN'
          end as reason
          from ranked k
          left join devices_tac t on t.tac = left(k.imei14, 8)::char(8)
          -- One index probe per staged row (LIMIT keeps the planner from turning these into hash joins that read the
          -- whole registry and stolen list for every slice).
          left join lateral (select true as hit from devices_registrations r where r.imei14 = k.imei14 limit 1) r on true
          left join lateral (select true as hit from devices_stolen x where x.imei14 = k.imei14 limit 1) x on true
        ), inserted as (
          insert into devices_registrations (imei14, imei, source, reference, org_id)
          select imei14, imei, ${source}::text, reference, ${orgId}::uuid from checked where reason is null
          on conflict (imei14) do nothing returning imei14
        ), queued as (
          insert into devices_classification_pending (imei14) select imei14 from inserted order by 1
          on conflict (imei14) do update set mark = excluded.mark
        ), refused as (
          select c.ingest_line as line, coalesce(c.reason, 'ALREADY_REGISTERED') as reason from checked c
          where c.reason is not null or not exists (select 1 from inserted i where i.imei14 = c.imei14)
        )
        select line, reason, null::int as total, null::text[] as first from refused
        union all
        select null, null, (select count(*) from inserted)::int, array(select imei14::text from inserted limit ${keep})
        order by line nulls last`.execute(db);
      const summary = rows.at(-1)!;
      return {
        rejected: rows.slice(0, -1).map((r) => ({ line: Number(r.line), reason: r.reason! })),
        registered: { total: summary.total, first: summary.first ?? [] },
      };
    },
    async tacs(tacs: string[]): Promise<Map<string, { manufacturer: string; modelName: string }>> {
      if (!tacs.length) return new Map();
      const rows = await db.selectFrom('devices_tac').select(['tac', 'manufacturer', 'model_name']).where('tac', 'in', tacs).execute();
      return new Map(rows.map((r) => [r.tac, { manufacturer: r.manufacturer, modelName: r.model_name }]));
    },
    async stats(sinceDays: number) {
      const [lists, registrations, blocks, observations, totals] = await Promise.all([
        sql<{ status: string; n: string }>`select status, count(*)::text as n from devices_classification group by status`.execute(db),
        sql<{ day: string; source: string; n: string }>`
          select registered_at::date::text as day, source, count(*)::text as n from devices_registrations
          where registered_at >= now() - make_interval(days => ${sinceDays}) group by 1, 2 order by 1, 2`.execute(db),
        sql<{ day: string; action: string; source: string; n: string }>`
          select at::date::text as day, action, source, count(*)::text as n from devices_stolen_history
          where at >= now() - make_interval(days => ${sinceDays}) group by 1, 2, 3 order by 1, 2, 3`.execute(db),
        sql<{ operatorId: string; pairs: string; imeis: string }>`
          select operator_id::text as "operatorId", count(*)::text as pairs, count(distinct imei14)::text as imeis
          from devices_observations group by 1 order by 1`.execute(db),
        sql<{ registered: string; stolen: string; tacs: string }>`
          select (select count(*) from devices_registrations)::text as registered, (select count(*) from devices_stolen)::text as stolen,
                 (select count(*) from devices_tac)::text as tacs`.execute(db),
      ]);
      return { lists: lists.rows, registrations: registrations.rows, blocks: blocks.rows, observations: observations.rows, totals: totals.rows[0]! };
    },
  };
}

export type RegistryRepository = ReturnType<typeof registryRepository>;
