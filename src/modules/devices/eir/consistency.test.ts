import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditService } from '../../../core/audit/service.js';
import { createOrgDirectory } from '../../../core/auth/directory.js';
import { systemContext } from '../../../core/auth/principal.js';
import { createChanges } from '../../../core/changes.js';
import type { Executor } from '../../../core/db/database.js';
import type { EventBus, EventHandler, QalqanEvent } from '../../../core/events/bus.js';
import { createMemoryBus } from '../../../core/events/memory-bus.js';
import { createOutbox } from '../../../core/events/outbox.js';
import { createIngest } from '../../../core/ingest/service.js';
import { deafBus } from '../../../testing/buses.js';
import { createTestDatabase, type TestDatabase } from '../../../testing/database.js';
import { startTestApp, type TestApp } from '../../../testing/app.js';
import { imeiOf } from '../../../testing/imei.js';
import { createBlocks } from '../network/blocks.js';
import { networkDeps } from '../network/fixtures.js';
import { createNetworkService } from '../network/service.js';
import { createEir } from './eir.js';
import { eirRepository, type EirRepository } from './repository.js';

const TAC = '35332811';
const logger = pino({ level: 'silent' });

describe('read your own writes: the writing instance answers from its commit, without the bus', () => {
  let t: TestApp;
  let police: { authorization: string };
  const status = (imei: string) => t.services.devices.eir.equipmentStatus(`imei-${imei}`, undefined);

  beforeAll(async () => {
    t = await startTestApp({ bus: deafBus() });
    const ctx = systemContext('test');
    await t.services.auth.ensureOrg(ctx, { name: 'Police Consistency', kind: 'police' });
    police = { authorization: `Bearer ${(await t.services.auth.createApiKey(ctx, { org: 'Police Consistency', scopes: ['devices:block'] })).key}` };
    await t.database.db.insertInto('devices_tac').values({ tac: TAC, manufacturer: 'Apple', model_name: 'iPhone 14' }).execute();
    await t.database.db
      .insertInto('devices_registrations')
      .values({ imei14: imeiOf(TAC, 2).slice(0, 14), imei: imeiOf(TAC, 2), source: 'importer' })
      .execute();
    await t.services.eir.reload();
  });
  afterAll(() => t.close());

  it('a block answers 201 and the same instance says BLACKLISTED at once; the unblock returns it to its registration', async () => {
    const imei = imeiOf(TAC, 2);
    expect(await status(imei)).toEqual({ status: 'WHITELISTED' });
    const block = await t.app.inject({ method: 'POST', url: '/api/v1/devices/stolen', headers: police, payload: { imei, caseNumber: 'KUI-RYW-1' } });
    expect(block.statusCode).toBe(201);
    expect(await status(imei)).toEqual({ status: 'BLACKLISTED' });
    const unblock = await t.app.inject({ method: 'DELETE', url: `/api/v1/devices/stolen/${imei}`, headers: police });
    expect(unblock.statusCode).toBe(204);
    expect(await status(imei)).toEqual({ status: 'WHITELISTED' });
  });

  it('a pairing answers 201 and the same instance whitelists the device for that IMSI at once; its removal too', async () => {
    const ctx = systemContext('test');
    await t.services.auth.ensureOrg(ctx, { name: 'Operator Consistency', kind: 'operator' });
    const operator = { authorization: `Bearer ${(await t.services.auth.createApiKey(ctx, { org: 'Operator Consistency', scopes: ['devices:write'] })).key}` };
    await t.services.devices.network.networks.put(ctx, '40102', 'Operator Consistency');
    const imei = imeiOf(TAC, 4);
    const imsi = '401021234567890';
    const withSim = () => t.services.devices.eir.equipmentStatus(`imei-${imei}`, `imsi-${imsi}`);
    expect(await withSim()).toEqual({ status: 'GREYLISTED' });
    const paired = await t.app.inject({ method: 'POST', url: '/api/v1/devices/pairings', headers: operator, payload: { imei, imsi } });
    expect(paired.statusCode).toBe(201);
    expect(await withSim()).toEqual({ status: 'WHITELISTED' });
    const removed = await t.app.inject({ method: 'DELETE', url: `/api/v1/devices/pairings?imei=${imei}&imsi=${imsi}`, headers: operator });
    expect(removed.statusCode).toBe(204);
    expect(await withSim()).toEqual({ status: 'GREYLISTED' });
  });

  it('the event carries the new status of each IMEI, so other instances need no database read', async () => {
    const imei = imeiOf(TAC, 3);
    await t.app.inject({ method: 'POST', url: '/api/v1/devices/stolen', headers: police, payload: { imei, caseNumber: 'KUI-RYW-2' } });
    const event = await t.database.db
      .selectFrom('core_outbox')
      .select('payload')
      .where('topic', '=', 'devices.imei.blocked')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(event.payload).toMatchObject({ imei14: imei.slice(0, 14), statuses: { [imei.slice(0, 14)]: 'black' }, origin: expect.any(String) });
  });
});

describe('another instance applies status events from memory', () => {
  /** A repository for the snapshot only: any other read fails the test. */
  function snapshotOnly(black: string[]): EirRepository {
    const forbidden = () => {
      throw new Error('the EIR read the database for an event');
    };
    return new Proxy({} as EirRepository, {
      get(_target, name) {
        if (name === 'statusSources') {
          return async function* () {
            for (const imei14 of black) yield { table: 'stolen' as const, imei14, status: null };
          };
        }
        if (name === 'allTacs') return async () => [TAC];
        if (name === 'allPairings') return async () => [];
        return forbidden;
      },
    });
  }

  function capturingBus() {
    let handler: EventHandler | null = null;
    let n = 0;
    const bus: EventBus = {
      kind: 'memory',
      publish: async () => undefined,
      subscribe: async (_consumer, _pattern, h) => {
        handler = h;
        return { close: async () => undefined };
      },
      close: async () => undefined,
    };
    const deliver = (topic: string, payload: Record<string, unknown>) =>
      handler!({ id: String(++n), topic, payload, occurredAt: new Date().toISOString(), seq: String(n) } satisfies QalqanEvent);
    return { bus, deliver };
  }

  it('applies the statuses an event names, skips its own changes and keeps changes that arrive during a reload', async () => {
    const a = imeiOf(TAC, 10).slice(0, 14);
    const b = imeiOf(TAC, 11).slice(0, 14);
    const { bus, deliver } = capturingBus();
    const eir = createEir({ repo: () => snapshotOnly([a]), bus, logger });
    await eir.start();
    expect(eir.check(a, null)).toMatchObject({ status: 'BLACKLISTED' });

    await deliver('devices.imei.unblocked', { imei14: a, statuses: { [a]: 'none' }, origin: 'another instance' });
    await deliver('devices.imei.blocked', { imei14: b, statuses: { [b]: 'black' }, origin: 'another instance' });
    expect(eir.check(a, null)).toMatchObject({ status: 'GREYLISTED' });
    expect(eir.check(b, null)).toMatchObject({ status: 'BLACKLISTED' });

    // Its own change came with the commit; the event of it is not applied again.
    const own = eir.change([[b, 1]]);
    await deliver('devices.imei.registered', { imei14s: [b], ...own });
    expect(eir.check(b, null)).toMatchObject({ status: 'BLACKLISTED' });

    // A snapshot read before a change must not undo it: a (a black snapshot) while "a: white" arrives mid-reload.
    const reload = eir.reload();
    await deliver('devices.imei.registered', { imei14s: [a], statuses: { [a]: 'white' }, origin: 'another instance' });
    await reload;
    expect(eir.check(a, null)).toMatchObject({ status: 'WHITELISTED' });
  });
});

describe('a committed block is answered from its transaction', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db.insertInto('devices_tac').values({ tac: TAC, manufacturer: 'Apple', model_name: 'iPhone 14' }).execute();
  });
  afterAll(() => database.close());

  /** The database as a restart leaves it: every statement after the first commit fails. */
  function failingAfterCommit(db: TestDatabase['db']): Executor {
    let down = false;
    return new Proxy(db, {
      get(target, name) {
        if (down) throw new Error('Connection terminated unexpectedly');
        if (name !== 'transaction') {
          const value: unknown = Reflect.get(target, name);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return () => ({
          execute: async <R>(fn: (trx: Executor) => Promise<R>) => {
            const result = await target.transaction().execute(fn);
            down = true;
            return result;
          },
        });
      },
    });
  }

  it('answers the committed block even when the database fails right after the commit; a retry answers alreadyBlocked', async () => {
    const clock = () => new Date();
    const ids = () => crypto.randomUUID();
    const eir = createEir({ repo: () => eirRepository(networkDeps(database.db, clock, database).db), bus: createMemoryBus(logger), logger });
    const service = (db: Executor) =>
      createBlocks({
        run: createChanges({ db, audit: createAuditService({ db, clock }), outbox: createOutbox({ ids, clock }) }),
        eir,
        clock,
        ingest: createIngest(database),
      });
    const ctx = systemContext('police test');
    const imei = imeiOf(TAC, 20);
    const first = await service(failingAfterCommit(database.db)).block(ctx, { imei, caseNumber: 'KUI-503' });
    expect(first).toMatchObject({ imei, caseNumber: 'KUI-503', alreadyBlocked: false });
    const retry = await service(database.db).block(ctx, { imei, caseNumber: 'KUI-503' });
    expect(retry).toMatchObject({ imei, caseNumber: 'KUI-503', alreadyBlocked: true, blockedAt: first.blockedAt });
  });

  it('answers a committed pairing even when its settling fails right after the commit; the IMEI stays owed', async () => {
    const clock = () => new Date();
    const db = failingAfterCommit(database.db);
    const deps = networkDeps(db, clock, database);
    const eir = createEir({ repo: () => eirRepository(deps.db), bus: createMemoryBus(logger), logger });
    const network = createNetworkService({ ...deps, orgs: createOrgDirectory(db), eir });
    const imei = imeiOf(TAC, 21);
    const paired = await network.addPairing(systemContext('regulator test'), { imei, imsi: '401021234567890' });
    expect(paired).toMatchObject({ imsi: '401021234567890', changed: true });
    const owed = await database.db.selectFrom('devices_classification_pending').select('imei14').where('imei14', '=', paired.imei14).execute();
    expect(owed).toHaveLength(1);
  });
});
