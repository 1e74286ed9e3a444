// Test helpers for the network side of the devices module: the service on a test database with a controllable
// clock, and seeding. (No import of src/testing, which the build leaves out.)
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { createAuditService } from '../../../core/audit/service.js';
import { createOrgDirectory } from '../../../core/auth/directory.js';
import { systemContext } from '../../../core/auth/principal.js';
import { createAuthService } from '../../../core/auth/service.js';
import { createChanges, tablesOf } from '../../../core/changes.js';
import type { Database, Executor } from '../../../core/db/database.js';
import type { OrgKind } from '../../../core/db/types.js';
import { createMemoryBus } from '../../../core/events/memory-bus.js';
import { createOutbox } from '../../../core/events/outbox.js';
import { createIngest } from '../../../core/ingest/service.js';
import { createEir } from '../eir/eir.js';
import { eirRepository } from '../eir/repository.js';
import type { DevicesTables } from '../tables.js';
import type { ClassifyDeps } from './classification.js';
import type { ObservationDeps } from './observations.js';
import { createNetworkService } from './service.js';

export const TAC = '35332811';
/** A device of the known TAC: TAC + a 6-digit serial. */
export const imei14 = (serial: number) => TAC + String(serial).padStart(6, '0');
export const kzImsi = (n: number) => '40101' + String(n).padStart(10, '0');
export const foreignImsi = (n: number) => '25099' + String(n).padStart(10, '0');
export const msisdn = (n: number) => '7701' + String(n).padStart(7, '0');

export const csv = (...lines: string[]) => Readable.from([lines.join('\n') + '\n']);

const logger = pino({ level: 'silent' });

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

/**
 * What classification and an observation import need, on `db` (without an EIR: nothing in memory to update); imports
 * stage their rows in `database` (whose executor `db` is, or wraps).
 */
export function networkDeps(db: Executor, clock: () => Date, database: Database): ClassifyDeps & ObservationDeps {
  const audit = createAuditService({ db, clock });
  const outbox = createOutbox({ ids: randomUUID, clock });
  return {
    db: tablesOf<DevicesTables>(db),
    run: createChanges<DevicesTables>({ db, audit, outbox }),
    clock,
    ids: randomUUID,
    logger,
    ingest: createIngest(database),
  };
}

export function seed(db: Executor) {
  const devices = tablesOf<DevicesTables>(db);
  const clock = () => new Date();
  // Organisations are core's: created through the auth service, as the regulator would.
  const auth = createAuthService({
    db,
    audit: createAuditService({ db, clock }),
    outbox: createOutbox({ ids: randomUUID, clock }),
    secret: 'fixtures-secret-fixtures-secret-0123',
    clock,
    ids: randomUUID,
    logger,
  });
  return {
    async org(name: string, kind: OrgKind): Promise<string> {
      return (await auth.ensureOrg(systemContext('fixtures'), { name, kind })).id;
    },
    async tacs(...tacs: string[]) {
      await devices
        .insertInto('devices_tac')
        .values(tacs.map((tac) => ({ tac, manufacturer: 'Test', model_name: `Model ${tac}` })))
        .execute();
    },
    async registered(...imeis: string[]) {
      await devices
        .insertInto('devices_registrations')
        .values(imeis.map((i) => ({ imei14: i, imei: i + '0', source: 'importer' as const })))
        .execute();
    },
    async stolen(imei: string, orgId: string | null, blockedAt = new Date('2026-01-01T00:00:00Z')) {
      await devices
        .insertInto('devices_stolen')
        .values({ imei14: imei, case_number: 'case-1', source: 'police', org_id: orgId, blocked_at: blockedAt })
        .execute();
    },
    async observed(operatorId: string, imei: string, imsi: string, lastSeen: string, number: string | null = null) {
      await devices
        .insertInto('devices_observations')
        .values({ imei14: imei, imsi, operator_id: operatorId, msisdn: number, rat: null, first_seen: lastSeen, last_seen: lastSeen })
        .execute();
    },
  };
}

export async function events(db: Executor, topic: string): Promise<Record<string, unknown>[]> {
  return (await db.selectFrom('core_outbox').select('payload').where('topic', '=', topic).orderBy('seq').execute()).map((r) => r.payload);
}

export async function classificationOf(db: Executor, imei: string) {
  return (
    (await db.selectFrom('devices_classification').select(['status', 'reasons', 'first_flagged', 'deadline']).where('imei14', '=', imei).executeTakeFirst()) ??
    null
  );
}

/**
 * The service on a fresh test database (from createTestDatabase), seeding helpers and a clock starting on `day`. The
 * service is given an EIR that is never started (its changes go nowhere); `deps` has none, for classification alone.
 */
export async function networkFixture<D extends Database>(database: D, day: string) {
  const time = testClock(day);
  const deps = networkDeps(database.db, time.clock, database);
  const eir = createEir({ repo: () => eirRepository(deps.db), bus: createMemoryBus(logger), logger });
  await seed(database.db).tacs(TAC);
  return {
    database,
    db: database.db,
    deps,
    service: createNetworkService({ ...deps, orgs: createOrgDirectory(database.db), eir }),
    seed: seed(database.db),
    ...time,
  };
}
