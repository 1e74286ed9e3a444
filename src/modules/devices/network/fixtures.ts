// Test helpers for the network side of the devices module: the service on a test database with a controllable
// clock, and seeding. (No import of src/testing, which the build leaves out.)
import { randomUUID } from 'node:crypto';
import { createOrgDirectory } from '../../../core/auth/directory.js';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { createAuditService } from '../../../core/audit/service.js';
import type { Executor } from '../../../core/db/database.js';
import type { OrgKind } from '../../../core/db/types.js';
import { createOutbox } from '../../../core/events/outbox.js';
import { createDevicesNetworkService, type DevicesNetworkDeps } from './service.js';

export const TAC = '35332811';
/** A device of the known TAC: TAC + a 6-digit serial. */
export const imei14 = (serial: number) => TAC + String(serial).padStart(6, '0');
export const kzImsi = (n: number) => '40101' + String(n).padStart(10, '0');
export const foreignImsi = (n: number) => '25099' + String(n).padStart(10, '0');
export const msisdn = (n: number) => '7701' + String(n).padStart(7, '0');

export const csv = (...lines: string[]) => Readable.from([lines.join('\n') + '\n']);

/** A controllable clock: starts at noon in Kazakhstan on `day`. */
export function testClock(day: string) {
  let now = new Date(`${day}T07:00:00Z`);
  return {
    clock: () => now,
    advanceDays(days: number) {
      now = new Date(now.getTime() + days * 86_400_000);
    },
  };
}

export function networkDeps(db: Executor, clock: () => Date): DevicesNetworkDeps {
  return { db, orgs: createOrgDirectory(db), audit: createAuditService({ db, clock }), outbox: createOutbox({ ids: randomUUID, clock }), clock, ids: randomUUID, logger: pino({ level: 'silent' }) };
}

export function seed(db: Executor) {
  return {
    async org(name: string, kind: OrgKind): Promise<string> {
      const id = randomUUID();
      await db.insertInto('auth_organisations').values({ id, name, kind }).execute();
      return id;
    },
    async tacs(...tacs: string[]) {
      await db.insertInto('devices_tac').values(tacs.map((tac) => ({ tac, manufacturer: 'Test', model_name: `Model ${tac}` }))).execute();
    },
    async registered(...imeis: string[]) {
      await db.insertInto('devices_registrations').values(imeis.map((i) => ({ imei14: i, imei: i + '0', source: 'importer' as const }))).execute();
    },
    async stolen(imei: string, orgId: string | null, blockedAt = new Date('2026-01-01T00:00:00Z')) {
      await db.insertInto('devices_stolen').values({ imei14: imei, case_number: 'case-1', source: 'police', org_id: orgId, blocked_at: blockedAt }).execute();
    },
    async observed(operatorId: string, imei: string, imsi: string, lastSeen: string, number: string | null = null) {
      await db.insertInto('devices_observations').values({ imei14: imei, imsi, operator_id: operatorId, msisdn: number, rat: null, first_seen: lastSeen, last_seen: lastSeen }).execute();
    },
  };
}

export async function events(db: Executor, topic: string): Promise<Record<string, unknown>[]> {
  return (await db.selectFrom('core_outbox').select('payload').where('topic', '=', topic).orderBy('seq').execute()).map((r) => r.payload);
}

export async function classificationOf(db: Executor, imei: string) {
  return (await db.selectFrom('devices_classification').select(['status', 'reasons', 'first_flagged', 'deadline']).where('imei14', '=', imei).executeTakeFirst()) ?? null;
}

/** The service on a fresh test database (from createTestDatabase), seeding helpers and a clock starting on `day`. */
export async function networkFixture<D extends { db: Executor }>(database: D, day: string) {
  const time = testClock(day);
  const deps = networkDeps(database.db, time.clock);
  await seed(database.db).tacs(TAC);
  return { database, db: database.db, deps, service: createDevicesNetworkService(deps), seed: seed(database.db), ...time };
}
