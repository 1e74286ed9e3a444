import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.js';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { recordingBus } from '../../testing/buses.js';
import { createMetrics } from '../metrics.js';
import type { EventBus, QalqanEvent } from './bus.js';
import { createOutbox } from './outbox.js';
import { createOutboxRelay } from './relay.js';

const logger = pino({ level: 'silent' });
let database: TestDatabase;
const outbox = createOutbox({ ids: randomUUID, clock: () => new Date() });

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

beforeEach(async () => {
  await database.db.deleteFrom('core_outbox').execute();
});

async function publishedWithin(bus: { published: QalqanEvent[] }, commit: () => Promise<void>, limitMs: number): Promise<number> {
  const before = bus.published.length;
  await commit();
  const committedAt = performance.now();
  while (bus.published.length === before && performance.now() - committedAt < limitMs) await new Promise((r) => setTimeout(r, 1));
  expect(bus.published.length, `no event published within ${limitMs} ms of the commit`).toBe(before + 1);
  return performance.now() - committedAt;
}

describe('relay wake-up on commit', () => {
  const HOUR = 3_600_000;
  /** A relay that polls once an hour: anything it publishes sooner, a commit woke it for. */
  const wokenRelay = (bus: EventBus) =>
    createOutboxRelay({
      db: database.db,
      bus,
      logger,
      metrics: createMetrics(),
      intervalMs: HOUR,
      onCommit: (l) => database.onCommit(l),
      listen: database.listen,
    });
  const addOne = (db: TestDatabase['db'], n: number) => () => db.transaction().execute((trx) => outbox.add(trx, 'test.wake.created', { n }));

  it('publishes an event right after the commit in its own process, not at its next poll (the poll is an hour)', async () => {
    const bus = recordingBus();
    const relay = wokenRelay(bus);
    relay.start();
    try {
      await new Promise((r) => setTimeout(r, 50));
      const times: number[] = [];
      for (let n = 0; n < 5; n++) times.push(await publishedWithin(bus, addOne(database.db, n), 250));
      console.log(`relay, own commit → published (${database.kind}): ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
      // A transaction without events does not publish anything, and a rolled-back one neither.
      await database.db.transaction().execute((trx) => trx.deleteFrom('core_handled_events').execute());
      await database.db.transaction().execute(async (trx) => {
        await outbox.add(trx, 'test.wake.created', { n: 'rolled back' });
        await trx.deleteFrom('core_outbox').where('topic', '=', 'test.wake.created').execute();
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(bus.published.map((e) => e.payload.n)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await relay.stop();
    }
  });

  it.skipIf(!process.env.DATABASE_URL)(
    process.env.DATABASE_URL
      ? 'PostgreSQL: the lease holder is woken by a commit on another instance (NOTIFY), not by its poll'
      : 'PostgreSQL part — SKIPPED: DATABASE_URL is not set',
    async () => {
      const bus = recordingBus();
      const relay = wokenRelay(bus);
      // Another instance: its own pool, its commits do not reach this relay in-process.
      const other = await openDatabase({ kind: 'postgres', url: database.url!, poolSize: 2 });
      relay.start();
      try {
        const deadline = Date.now() + 10_000;
        const listening = async () =>
          Number(
            (
              await sql<{ n: string }>`select count(*)::text as n from pg_stat_activity where datname = current_database() and query like 'LISTEN %'`.execute(
                database.db,
              )
            ).rows[0]!.n,
          );
        while ((await listening()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(await listening()).toBe(1);
        const times: number[] = [];
        for (let n = 0; n < 5; n++) times.push(await publishedWithin(bus, addOne(other.db, n), 250));
        console.log(`relay, another instance's commit → published (NOTIFY): ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
        // The LISTEN connection dies (a database restart, a proxy): it is opened again and still wakes the relay.
        const listener = async () =>
          (
            await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database() and query like 'LISTEN %'`.execute(database.db)
          ).rows.map((r) => r.pid);
        const [killed] = await listener();
        await sql`select pg_terminate_backend(${killed})`.execute(database.db);
        const again = Date.now() + 10_000;
        while (!(await listener()).some((pid) => pid !== killed) && Date.now() < again) await new Promise((r) => setTimeout(r, 20));
        expect((await listener()).filter((pid) => pid !== killed)).toHaveLength(1);
        await publishedWithin(bus, addOne(other.db, 5), 250);
        // After stop, nothing listens any more.
        await relay.stop();
        expect(await listening()).toBe(0);
      } finally {
        await relay.stop();
        await other.close();
      }
    },
  );
});

describe.skipIf(!process.env.DATABASE_URL)(process.env.DATABASE_URL ? 'relay connection' : 'relay connection — SKIPPED: DATABASE_URL is not set', () => {
  it('PostgreSQL: a started relay publishes on a connection of its own while every connection of the shared pool is busy', async () => {
    const bus = recordingBus();
    const relay = createOutboxRelay({
      db: database.db,
      bus,
      logger,
      metrics: createMetrics(),
      intervalMs: 3_600_000,
      listen: database.listen,
      ownPool: database.ownPool,
    });
    const other = await openDatabase({ kind: 'postgres', url: database.url!, poolSize: 1 });
    relay.start();
    try {
      await relay.drain();
      // Requests hold all five of the shared pool's connections (and queue for them) until they are released.
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const busy = Array.from({ length: 10 }, () =>
        database.db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          await released;
        }),
      );
      await new Promise((r) => setTimeout(r, 100));
      await other.db.transaction().execute((trx) => outbox.add(trx, 'test.own.created', {}));
      const deadline = Date.now() + 5_000;
      while (bus.published.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const publishedWhileBusy = bus.published.map((e) => e.topic);
      release();
      await Promise.all(busy);
      expect(publishedWhileBusy).toEqual(['test.own.created']);
    } finally {
      await relay.stop();
      await other.close();
    }
  });
});
