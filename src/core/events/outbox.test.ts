import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { createMetrics } from '../metrics.js';
import { recordingBus } from '../../testing/buses.js';
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
  await database.db.deleteFrom('core_handled_events').execute();
});

function relayOn(bus: EventBus) {
  return createOutboxRelay({ db: database.db, bus, logger, metrics: createMetrics() });
}

async function rows() {
  return database.db.selectFrom('core_outbox').select(['seq', 'id', 'topic', 'payload', 'published_at', 'published_seq']).orderBy('seq').execute();
}

describe('outbox and relay', () => {
  it('never publishes events added in a transaction that rolls back', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await outbox.add(trx, 'test.thing.created', { n: 1 });
        await outbox.add(trx, 'test.thing.created', { n: 2 });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    await database.db.transaction().execute(async (trx) => {
      await outbox.add(trx, 'test.thing.created', { n: 3 });
    });

    const bus = recordingBus();
    const relay = relayOn(bus);
    expect(await relay.drain()).toBe(1);
    expect(bus.published.map((e) => e.payload)).toEqual([{ n: 3 }]);
    expect((await rows()).map((r) => r.payload)).toEqual([{ n: 3 }]);
  });

  it('publishes committed events exactly once, in sequence order, and marks them published', async () => {
    // Several transactions, some with several events; random ids so id order differs from sequence order.
    for (let t = 0; t < 5; t++) {
      await database.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 3; i++) await outbox.add(trx, `test.batch${t}.created`, { t, i });
      });
    }
    const before = await rows();
    expect(before).toHaveLength(15);
    expect(before.every((r) => r.published_at === null)).toBe(true);

    const bus = recordingBus();
    const relay = relayOn(bus);
    expect(await relay.drain()).toBe(15);

    expect(bus.published.map((e) => e.id)).toEqual(before.map((r) => r.id));
    const after0 = await rows();
    expect(bus.published.map((e) => e.seq)).toEqual(after0.map((r) => String(r.published_seq)));
    const seqs = bus.published.map((e) => BigInt(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(bus.published.map((e) => e.payload)).toEqual(before.map((r) => r.payload));
    expect(bus.published[0]).toMatchObject({ topic: 'test.batch0.created', payload: { t: 0, i: 0 } });
    expect(Number.isNaN(Date.parse(bus.published[0]!.occurredAt))).toBe(false);

    expect(after0.every((r) => r.published_at !== null)).toBe(true);

    // Nothing left: a second pass publishes nothing again.
    expect(await relay.drain()).toBe(0);
    expect(bus.published).toHaveLength(15);
  });

  it('keeps events pending when the bus fails, and a later pass publishes them: nothing is lost', async () => {
    for (let n = 0; n < 6; n++) {
      await database.db.transaction().execute(async (trx) => {
        await outbox.add(trx, 'test.thing.created', { n });
      });
    }
    const all = await rows();

    const broken = recordingBus({ failAfter: 2 });
    expect(await relayOn(broken).drain()).toBe(2);
    expect(broken.published.map((e) => e.id)).toEqual(all.slice(0, 2).map((r) => r.id));
    const mid = await rows();
    expect(mid.filter((r) => r.published_at !== null).map((r) => r.id)).toEqual(all.slice(0, 2).map((r) => r.id));
    expect(mid.filter((r) => r.published_at === null).map((r) => r.id)).toEqual(all.slice(2).map((r) => r.id));

    const dead = recordingBus({ failAfter: 0 });
    expect(await relayOn(dead).drain()).toBe(0);
    expect((await rows()).filter((r) => r.published_at === null)).toHaveLength(4);

    const healthy = recordingBus();
    expect(await relayOn(healthy).drain()).toBe(4);
    expect(healthy.published.map((e) => e.id)).toEqual(all.slice(2).map((r) => r.id));
    expect([...broken.published, ...healthy.published].map((e) => e.id)).toEqual(all.map((r) => r.id));
    expect((await rows()).every((r) => r.published_at !== null)).toBe(true);
  });

  it('start() publishes events committed later without being asked, until stop()', async () => {
    const bus = recordingBus();
    const relay = createOutboxRelay({ db: database.db, bus, logger, metrics: createMetrics(), intervalMs: 20 });
    relay.start();
    try {
      await database.db.transaction().execute(async (trx) => {
        await outbox.add(trx, 'test.thing.created', { n: 1 });
      });
      const deadline = Date.now() + 10_000;
      while (bus.published.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(bus.published.map((e) => e.payload)).toEqual([{ n: 1 }]);
    } finally {
      await relay.stop();
    }
    await database.db.transaction().execute(async (trx) => {
      await outbox.add(trx, 'test.thing.created', { n: 2 });
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(bus.published).toHaveLength(1);
  });

  it("publishes a backlog in batches: each batch's publishes are all issued before any is acknowledged, in order", async () => {
    const values = Array.from({ length: 2_000 }, (_, n) => ({
      id: randomUUID(),
      topic: 'test.backlog.created',
      payload: JSON.stringify({ n }),
      created_at: new Date(),
    }));
    await database.db.insertInto('core_outbox').values(values).execute();
    // A bus whose acknowledgements come a turn later; a batch is a run of publishes in flight together.
    const published: QalqanEvent[] = [];
    let inFlight = 0;
    const batches: number[] = [];
    const bus: EventBus = {
      kind: 'memory',
      async publish(event) {
        if (inFlight++ === 0) batches.push(0);
        batches[batches.length - 1]!++;
        published.push(event);
        await new Promise((r) => setImmediate(r));
        inFlight--;
      },
      subscribe: async () => ({ close: async () => {} }),
      close: async () => {},
    };
    // Every statement the relay sends.
    const statements: string[] = [];
    const counted = database.db.withPlugin({
      transformQuery: (args) => (statements.push(args.node.kind), args.node),
      transformResult: async (args) => args.result,
    });
    expect(await createOutboxRelay({ db: counted, bus, logger, metrics: createMetrics() }).drain()).toBe(2_000);
    expect(batches).toEqual([500, 500, 500, 500]);
    // Per batch a probe, the lease, one read (its publication numbers with it) and one update; then a last probe.
    expect(statements).toHaveLength(4 * 4 + 1);
    expect(published.map((e) => e.payload.n)).toEqual(values.map((_, n) => n));
    const after = await rows();
    expect(after.every((r) => r.published_at !== null)).toBe(true);
    expect(published.map((e) => e.seq)).toEqual(after.map((r) => String(r.published_seq)));
    const seqs = published.map((e) => BigInt(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it("marks exactly the events the bus acknowledged; the others stay pending for the next pass (order on a failure is the bus's part)", async () => {
    for (let n = 0; n < 6; n++) await database.db.transaction().execute((trx) => outbox.add(trx, 'test.thing.created', { n }));
    const refused = new Set([2, 4]);
    const published: unknown[] = [];
    const flaky: EventBus = {
      kind: 'memory',
      async publish(event) {
        if (refused.has(event.payload.n as number)) throw new Error('refused');
        published.push(event.payload.n);
      },
      subscribe: async () => ({ close: async () => {} }),
      close: async () => {},
    };
    expect(await relayOn(flaky).drain()).toBe(4);
    expect((await rows()).filter((r) => r.published_at === null).map((r) => r.payload)).toEqual([{ n: 2 }, { n: 4 }]);
    refused.clear();
    expect(await relayOn(flaky).drain()).toBe(2);
    expect(published).toEqual([0, 1, 3, 5, 2, 4]);
    expect((await rows()).every((r) => r.published_at !== null)).toBe(true);
  });

  it('two relays draining at once publish each event once (one of them holds the relay lease)', async () => {
    for (let n = 0; n < 20; n++) {
      await database.db.transaction().execute(async (trx) => {
        await outbox.add(trx, 'test.thing.created', { n });
      });
    }
    const published: string[] = [];
    const slowBus: EventBus = {
      kind: 'memory',
      async publish(event) {
        await new Promise((r) => setTimeout(r, 5));
        published.push(event.id);
      },
      subscribe: async () => ({ close: async () => {} }),
      close: async () => {},
    };
    const [a, b] = await Promise.all([relayOn(slowBus).drain(), relayOn(slowBus).drain()]);
    expect(a + b).toBe(20);
    expect(new Set(published).size).toBe(20);
    expect(published).toHaveLength(20);
    expect((await rows()).every((r) => r.published_at !== null)).toBe(true);
  });
});

/** Milliseconds from `commit` resolving until `bus` has published one more event (fails after `limitMs`). */
describe('publication sequence', () => {
  it('numbers events in the order they are published, so a later commit of an earlier insert gets a higher seq', async () => {
    const bus = recordingBus();
    const relay = relayOn(bus);
    await relay.drain();
    bus.published.length = 0;
    // Insert A first but commit it after B: B is published first and must carry the lower seq.
    let releaseA!: () => void;
    const gate = new Promise<void>((r) => (releaseA = r));
    const a = database.db.transaction().execute(async (trx) => {
      await outbox.add(trx, 'test.order.a', {});
      await gate;
    });
    if (database.kind === 'postgres') {
      await database.db.transaction().execute((trx) => outbox.add(trx, 'test.order.b', {}));
      await relay.drain();
      releaseA();
      await a;
      await relay.drain();
      expect(bus.published.map((e) => e.topic)).toEqual(['test.order.b', 'test.order.a']);
    } else {
      // PGlite has one connection: transactions run one after the other, so commit order is insert order.
      releaseA();
      await a;
      await relay.drain();
      expect(bus.published.map((e) => e.topic)).toEqual(['test.order.a']);
    }
    const seqs = bus.published.map((e) => BigInt(e.seq));
    expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : 1)));
  });
});
