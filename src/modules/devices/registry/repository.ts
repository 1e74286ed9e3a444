import { sql } from 'kysely';
import type { DevicesDb, RegistrationSource } from '../tables.js';

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

/** The TAC database and the registrations (and the counts statistics show). */
export function registryRepository(db: DevicesDb) {
  return {
    async upsertTacs(rows: TacRecord[]): Promise<void> {
      if (!rows.length) return;
      await db
        .insertInto('devices_tac')
        .values(
          rows.map((r) => ({
            tac: r.tac,
            manufacturer: r.manufacturer,
            model_name: r.modelName,
            bands: r.bands,
            allocation_date: r.allocationDate,
            device_type: r.deviceType,
            updated_at: new Date(),
          })),
        )
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
