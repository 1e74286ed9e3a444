import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../../../core/auth/principal.js';
import type { Executor } from '../../../core/db/database.js';
import { createMemoryBus } from '../../../core/events/memory-bus.js';
import { createHttpServer, createServices } from '../../../server.js';
import { createTestDatabase, type TestDatabase } from '../../../testing/database.js';
import { CLASSIFY_LOCK, classifyPending } from './classification.js';
import { classificationOf, csv, events, imei14, kzImsi, networkDeps, networkFixture } from './fixtures.js';
import { networkRepository } from './repository.js';
import { importObservations } from './observations.js';

const ctx = systemContext('test');
const HEADER = 'date,imei,imsi,msisdn,rat';
let f: Awaited<ReturnType<typeof networkFixture<TestDatabase>>>;
let operator: string;

beforeAll(async () => {
  f = await networkFixture(await createTestDatabase(), '2026-03-10');
  operator = await f.seed.org('Kcell', 'operator');
});
afterAll(async () => f.database.close());

const owed = async () => (await f.db.selectFrom('devices_classification_pending').select('imei14').orderBy('imei14').execute()).map((r) => r.imei14);
const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `2026-03-09,${imei14(from + i)}0,${kzImsi(from + i)},,4G`);

/**
 * Another run (a full classification, another instance's settling) holding the classification lock for `ms`; on
 * PostgreSQL on a connection of its own, as another instance's would be.
 */
async function anotherRunHoldsTheLock(ms: number): Promise<{ released: Promise<void> }> {
  const own = f.database.ownPool?.(1);
  let acquired!: () => void;
  const held = new Promise<void>((resolve) => (acquired = resolve));
  const released = (own?.db ?? f.db).transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${CLASSIFY_LOCK})`.execute(trx);
    acquired();
    await sleep(ms);
  });
  await held;
  return { released: released.finally(() => own?.close()) };
}

/** The database as a crash right after the import's commit leaves it: the transaction after the first one fails. */
function crashingAfterFirstCommit(db: Executor): Executor {
  let transactions = 0;
  return new Proxy(db, {
    get(target, name) {
      if (name === 'transaction' && ++transactions > 1) throw new Error('killed');
      const value: unknown = Reflect.get(target, name);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('owed classification', () => {
  it('an import records the devices it saw as owed in its own transaction; a start after a crash classifies them', async () => {
    // The import stands (it committed) and says nothing was settled; its devices stay owed.
    const report = await importObservations(networkDeps(crashingAfterFirstCommit(f.db), f.clock, f.database), ctx, {
      operatorId: operator,
      input: csv(HEADER, ...lines(1, 3)),
    });
    expect(report).toMatchObject({ committed: true, accepted: 3, classification: null });
    expect(await owed()).toEqual([imei14(1), imei14(2), imei14(3)]);
    expect(await classificationOf(f.db, imei14(1))).toBeNull();

    // A new start of the whole server on that database settles what is owed, without waiting for the hourly run.
    const logger = pino({ level: 'silent' });
    const services = createServices({
      database: f.database,
      bus: createMemoryBus(logger),
      logger,
      secret: 'test-secret-test-secret-test-secret-0123',
      clock: f.clock,
    });
    const { app } = await createHttpServer(services);
    try {
      await expect.poll(owed, { timeout: 10_000 }).toEqual([]);
      expect(await classificationOf(f.db, imei14(1))).toMatchObject({ status: 'grey', reasons: ['not_registered'] });
      expect(services.eir.check(imei14(1), null)).toMatchObject({ status: 'GREYLISTED' });
    } finally {
      await app.close();
    }
  });

  it('settles in short transactions of at most 250 devices, each announcing every status it settled', async () => {
    const before = (await events(f.db, 'devices.status.changed')).length;
    const report = await importObservations(f.deps, ctx, { operatorId: operator, input: csv(HEADER, ...lines(100, 1_100)) });
    expect(report.classification).toMatchObject({ examined: 1_100, grey: 1_100, changed: 1_100 });
    expect(await owed()).toEqual([]);
    const announced = (await events(f.db, 'devices.status.changed')).slice(before).map((e) => Object.keys(e.statuses as object).length);
    expect(announced).toEqual([250, 250, 250, 250, 100]);
  });

  it('lets the event loop turn while it classifies (on PGlite a transaction otherwise holds the one thread)', async () => {
    await networkRepository(f.deps.db).queuePending(Array.from({ length: 750 }, (_, i) => imei14(3_000 + i)));
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    try {
      expect(await classifyPending(f.deps)).toMatchObject({ examined: 750 });
    } finally {
      clearInterval(timer);
    }
    // Three pages, each yielding after classifying, twice inside the list update and once after the page.
    expect(turns).toBeGreaterThanOrEqual(9);
  });

  it('an import waits for the classification lock another run holds, then answers with its devices classified', async () => {
    const { released } = await anotherRunHoldsTheLock(400);
    const report = await importObservations(f.deps, ctx, { operatorId: operator, input: csv(HEADER, ...lines(6_000, 5)) });
    await released;
    expect(report.classification).toMatchObject({ examined: 5, grey: 5 });
    expect(await owed()).toEqual([]);
    expect(await classificationOf(f.db, imei14(6_000))).toMatchObject({ status: 'grey' });
  });

  // With PGlite's one connection, a transaction holding the lock keeps every other one waiting: no settling meets it.
  it.skipIf(!process.env.DATABASE_URL)('past its wait, a settling leaves what is owed to the next one', async () => {
    await networkRepository(f.deps.db).queuePending([imei14(6_100)]);
    const { released } = await anotherRunHoldsTheLock(1_000);
    expect(await classifyPending(f.deps, { lockWaitMs: 100 })).toMatchObject({ examined: 0 });
    expect(await owed()).toEqual([imei14(6_100)]);
    await released;
    expect(await classifyPending(f.deps)).toMatchObject({ examined: 1 });
  });

  it('keeps an IMEI owed when it is queued again while it is being classified', async () => {
    await f.db
      .insertInto('devices_classification_pending')
      .values({ imei14: imei14(5_000) })
      .execute();
    const [first] = await f.db.selectFrom('devices_classification_pending').select(['imei14', 'mark']).execute();
    await f.db
      .updateTable('devices_classification_pending')
      .set({ mark: String(Number(first!.mark) + 1_000) })
      .execute();
    await networkRepository(f.deps.db).settlePending([first!]);
    expect(await owed()).toEqual([imei14(5_000)]);
    await classifyPending(f.deps);
    expect(await owed()).toEqual([]);
  });
});
