import { sql } from 'kysely';
import type { Executor } from '../../../core/db/database.js';
import type { RegistrationSource } from '../tables.js';

export interface TacRecord {
  tac: string;
  manufacturer: string;
  modelName: string;
  bands: string | null;
  allocationDate: string | null;
  deviceType: string | null;
}

export interface NewRegistration {
  imei14: string;
  imei: string;
  source: RegistrationSource;
  reference: string | null;
  orgId: string | null;
}

/** What the database knows about one IMEI, for the EIR decision. */
export interface ImeiFacts {
  imei14: string;
  registered: boolean;
  stolen: boolean;
  ordered: boolean;
  classified: 'white' | 'grey' | 'black' | null;
  /** Classification reasons (empty when unclassified) and the grey-list deadline. */
  reasons: string[];
  deadline: string | null;
}

const PAGE = 50_000;

export function devicesRepository(db: Executor) {
  return {
    async upsertTacs(rows: TacRecord[]): Promise<void> {
      if (!rows.length) return;
      await db
        .insertInto('devices_tac')
        .values(rows.map((r) => ({ tac: r.tac, manufacturer: r.manufacturer, model_name: r.modelName, bands: r.bands, allocation_date: r.allocationDate, device_type: r.deviceType, updated_at: new Date() })))
        .onConflict((oc) =>
          oc.column('tac').doUpdateSet((eb) => ({
            manufacturer: eb.ref('excluded.manufacturer'),
            model_name: eb.ref('excluded.model_name'),
            bands: eb.ref('excluded.bands'),
            allocation_date: eb.ref('excluded.allocation_date'),
            device_type: eb.ref('excluded.device_type'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    },
    async deleteAllTacs(): Promise<void> {
      await db.deleteFrom('devices_tac').execute();
    },
    async findTac(tac: string): Promise<TacRecord | null> {
      const r = await db.selectFrom('devices_tac').selectAll().where('tac', '=', tac).executeTakeFirst();
      return r ? { tac: r.tac, manufacturer: r.manufacturer, modelName: r.model_name, bands: r.bands, allocationDate: r.allocation_date, deviceType: r.device_type } : null;
    },
    async allTacs(): Promise<string[]> {
      return (await db.selectFrom('devices_tac').select('tac').execute()).map((r) => r.tac);
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
      if (r) await db.insertInto('devices_stolen_history').values({ imei14: row.imei14, action: 'block', case_number: row.caseNumber, source: row.source, org_id: row.orgId }).execute();
      return r !== undefined;
    },
    async deleteStolen(imei14: string, orgId: string | null): Promise<{ caseNumber: string } | null> {
      const r = await db.deleteFrom('devices_stolen').where('imei14', '=', imei14).returning(['case_number', 'source']).executeTakeFirst();
      if (r) await db.insertInto('devices_stolen_history').values({ imei14, action: 'unblock', case_number: r.case_number, source: r.source, org_id: orgId }).execute();
      return r ? { caseNumber: r.case_number } : null;
    },
    async facts(imei14s: string[]): Promise<ImeiFacts[]> {
      if (!imei14s.length) return [];
      const { rows } = await sql<ImeiFacts>`
        select i.imei14,
               r.imei14 is not null as registered,
               s.imei14 is not null as stolen,
               o.imei14 is not null as ordered,
               c.status as classified,
               coalesce(c.reasons, '{}') as reasons,
               c.deadline::text as deadline
        from unnest(${imei14s}::text[]) as i(imei14)
        left join devices_registrations r on r.imei14 = i.imei14
        left join devices_stolen s on s.imei14 = i.imei14
        left join devices_orders o on o.imei14 = i.imei14
        left join devices_classification c on c.imei14 = i.imei14`.execute(db);
      return rows;
    },
    /** Every IMEI with a status, one table at a time in keyset pages (constant memory): registrations, classification, stolen, orders. */
    async *statusSources(): AsyncGenerator<{ table: 'registrations' | 'classification' | 'stolen' | 'orders'; imei14: string; status: string | null }> {
      for (const table of ['registrations', 'classification', 'stolen', 'orders'] as const) {
        let after = '';
        for (;;) {
          const rows =
            table === 'classification'
              ? await db
                  .selectFrom('devices_classification as c')
                  .select(['c.imei14', 'c.status'])
                  .where('c.imei14', '>', after)
                  // A registration beats grey (registrations come first, so a grey row of a registered IMEI is left out).
                  .where((eb) => eb.or([eb('c.status', '!=', 'grey'), eb.not(eb.exists(eb.selectFrom('devices_registrations as r').select('r.imei14').whereRef('r.imei14', '=', 'c.imei14')))]))
                  .orderBy('c.imei14')
                  .limit(PAGE)
                  .execute()
              : await db.selectFrom(`devices_${table}`).select(['imei14', sql<null>`null`.as('status')]).where('imei14', '>', after).orderBy('imei14').limit(PAGE).execute();
          for (const r of rows) yield { table, imei14: r.imei14, status: r.status };
          if (rows.length < PAGE) break;
          after = rows[rows.length - 1]!.imei14;
        }
      }
    },
    async insertOrder(imei14: string, orderRef: string): Promise<boolean> {
      const r = await db.insertInto('devices_orders').values({ imei14, order_ref: orderRef }).onConflict((oc) => oc.column('imei14').doNothing()).returning('imei14').executeTakeFirst();
      return r !== undefined;
    },
    async deleteOrder(imei14: string): Promise<string | null> {
      const r = await db.deleteFrom('devices_orders').where('imei14', '=', imei14).returning('order_ref').executeTakeFirst();
      return r?.order_ref ?? null;
    },
    async allPairings(): Promise<{ imei14: string; imsi: string }[]> {
      return db.selectFrom('devices_pairings').select(['imei14', 'imsi']).execute();
    },
  };
}

export type DevicesRepository = ReturnType<typeof devicesRepository>;

/** TAC details and counts for checks and statistics (reads only). */
export function devicesReadRepository(db: Executor) {
  return {
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
