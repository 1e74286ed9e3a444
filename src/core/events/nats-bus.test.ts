import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { hostPort, isReachable, startTcpProxy } from '../../testing/tcp-proxy.js';
import { sleep, waitFor } from '../../testing/wait.js';
import { createMetrics } from '../metrics.js';
import type { EventBus, QalqanEvent } from './bus.js';
import { createNatsBus } from './nats-bus.js';
import { createOutbox } from './outbox.js';
import { createOutboxRelay } from './relay.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const natsUp = await isReachable(hostPort(NATS_URL, 4222).host, hostPort(NATS_URL, 4222).port, 1_000);
if (!natsUp && process.env.CI) {
  // CI treats a skip as a failure anyway; say why instead of skipping.
  throw new Error(`NATS JetStream is not reachable at ${NATS_URL} and CI is set: start nats-server -js (or set NATS_URL)`);
}
if (!natsUp) console.warn(`[nats-bus.test] skipped: no NATS server reachable at ${NATS_URL} (start nats-server -js or set NATS_URL)`);

const RUN = randomBytes(4).toString('hex');
const STREAM = `QALQAN_TEST_${RUN}`;
const PREFIX = `qt${RUN}`;
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe.skipIf(!natsUp)(natsUp ? `NATS JetStream bus (${NATS_URL})` : `NATS JetStream bus — SKIPPED: no NATS at ${NATS_URL}`, () => {
  let database: TestDatabase;
  let admin: NatsConnection;
  const buses: EventBus[] = [];
  const outbox = createOutbox({ ids: randomUUID, clock: () => new Date() });

  async function bus(): Promise<EventBus> {
    const b = await createNatsBus({ url: NATS_URL, logger, stream: STREAM, subjectPrefix: PREFIX });
    buses.push(b);
    return b;
  }

  async function addEvents(topic: string, count: number): Promise<string[]> {
    await database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < count; i++) await outbox.add(trx, topic, { i });
    });
    const rows = await database.db.selectFrom('core_outbox').select(['id']).where('topic', '=', topic).orderBy('seq').execute();
    return rows.map((r) => r.id);
  }

  const event = (topic: string): QalqanEvent => ({ id: randomUUID(), topic, payload: { at: Date.now() }, occurredAt: new Date().toISOString(), seq: '0' });

  async function streamMessages(): Promise<number> {
    const jsm = await admin.jetstreamManager();
    return (await jsm.streams.info(STREAM)).state.messages;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = await connect({ servers: NATS_URL });
  });

  afterAll(async () => {
    for (const b of buses) await b.close().catch(() => {});
    if (admin) {
      const jsm = await admin.jetstreamManager();
      await jsm.streams.delete(STREAM).catch(() => {});
      await admin.close();
    }
    await database?.close();
  });

  it('outbox → relay → JetStream → durable consumer: every committed event arrives, in sequence order', async () => {
    const b = await bus();
    const relay = createOutboxRelay({ db: database.db, bus: b, logger, metrics: createMetrics() });
    const received: QalqanEvent[] = [];
    await b.subscribe('t1-consumer', 't1.>', async (e) => {
      received.push(e);
    });

    const ids = [...(await addEvents('t1.thing.created', 10)), ...(await addEvents('t1.thing.updated', 15))];
    // Not for this consumer's filter: must not reach it.
    await addEvents('other.thing.created', 3);
    expect(await relay.drain()).toBe(28);

    await waitFor('25 events at the durable consumer', () => new Set(received.map((e) => e.id)).size >= 25);
    const firstSeen = [...new Set(received.map((e) => e.id))];
    expect(firstSeen).toEqual(ids);
    expect(received.every((e) => e.topic.startsWith('t1.'))).toBe(true);
    expect(received[0]).toMatchObject({ topic: 't1.thing.created', payload: { i: 0 } });
    expect(Number(received[24]!.seq)).toBeGreaterThan(Number(received[0]!.seq));

    const pending = await database.db.selectFrom('core_outbox').select('id').where('published_at', 'is', null).execute();
    expect(pending).toEqual([]);
  });

  it('the relay publishes a backlog of 2,000 events pipelined, and the stream holds them in outbox order', async () => {
    const b = await bus();
    const received: string[] = [];
    await b.subscribe('t5-consumer', 't5.>', async (e) => void received.push(e.id));
    const ids = await addEvents('t5.thing.created', 2_000);
    expect(await createOutboxRelay({ db: database.db, bus: b, logger, metrics: createMetrics() }).drain()).toBe(2_000);
    await waitFor('2,000 events at the durable consumer', () => received.length >= 2_000, 30_000);
    expect(received).toEqual(ids);
  });

  it('pipelined publishes: one the stream refuses makes those issued after it fail too, so none overtakes it', async () => {
    // A stream of its own that refuses messages over 1 KB.
    const stream = `${STREAM}_SMALL`;
    const jsm = await admin.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [`${PREFIX}small.>`], max_msg_size: 1024, duplicate_window: 60_000_000_000 });
    try {
      const b = await createNatsBus({ url: NATS_URL, logger, stream, subjectPrefix: `${PREFIX}small` });
      buses.push(b);
      const events = Array.from({ length: 6 }, (_, n) => ({ ...event('t6.thing.created'), payload: { n, pad: n === 2 ? 'x'.repeat(2_000) : '' } }));
      const results = await Promise.allSettled(events.map((e) => b.publish(e)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected', 'rejected']);
      expect((await jsm.streams.info(stream)).state.messages).toBe(2);
      // Published again (the refused one now fits): the stored ones are duplicates, the rest follow in order.
      const again = events.map((e) => ({ ...e, payload: { n: e.payload.n } }));
      const second = await Promise.allSettled(again.map((e) => b.publish(e)));
      expect(second.every((r) => r.status === 'fulfilled')).toBe(true);
      const info = await jsm.streams.info(stream);
      expect(info.state.messages).toBe(6);
      const order: unknown[] = [];
      for (let seq = 1; seq <= 6; seq++) order.push((await jsm.streams.getMessage(stream, { seq })).json<QalqanEvent>().payload.n);
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await jsm.streams.delete(stream).catch(() => {});
    }
  });

  it('redelivers an event whose handler throws, until the handler succeeds', async () => {
    const b = await bus();
    const attempts = new Map<string, number>();
    const done: string[] = [];
    await b.subscribe('t2-consumer', 't2.>', async (e) => {
      const n = (attempts.get(e.id) ?? 0) + 1;
      attempts.set(e.id, n);
      if (e.payload.flaky && n === 1) throw new Error('transient failure');
      done.push(e.id);
    });
    const flaky = { ...event('t2.thing.created'), payload: { flaky: true } };
    const steady = event('t2.thing.created');
    await b.publish(flaky);
    await b.publish(steady);

    await waitFor('the flaky event to be handled after redelivery', () => done.includes(flaky.id) && done.includes(steady.id));
    expect(attempts.get(flaky.id)).toBe(2);
    expect(attempts.get(steady.id)).toBe(1);
  });

  it('deduplicates a second publish of the same event id (msgID), also when the relay publishes a row again', async () => {
    const b = await bus();
    const seen: string[] = [];
    await b.subscribe('t3-consumer', 't3.>', async (e) => {
      seen.push(e.id);
    });

    const e = event('t3.thing.created');
    const before = await streamMessages();
    await b.publish(e);
    await b.publish({ ...e });
    expect(await streamMessages()).toBe(before + 1);

    // The relay crashed after publishing but before marking the rows: the next pass publishes them again.
    const relay = createOutboxRelay({ db: database.db, bus: b, logger, metrics: createMetrics() });
    const ids = await addEvents('t3.thing.updated', 3);
    expect(await relay.drain()).toBe(3);
    await database.db.updateTable('core_outbox').set({ published_at: null }).where('id', 'in', ids).execute();
    // Meanwhile more was committed: pipelined behind the duplicates, it is stored too.
    const later = await addEvents('t3.thing.deleted', 2);
    expect(await relay.drain()).toBe(5);
    expect(await streamMessages()).toBe(before + 6);

    await waitFor('all t3 events', () => [e.id, ...ids, ...later].every((id) => seen.includes(id)));
    await sleep(500);
    expect(seen).toEqual([e.id, ...ids, ...later]);
  });

  it('a durable consumer that was away receives what was published meanwhile, and not what it had acknowledged', async () => {
    const first = await bus();
    const before: string[] = [];
    const sub = await first.subscribe('t4-durable', 't4.>', async (e) => {
      before.push(e.id);
    });
    const e1 = event('t4.thing.created');
    await first.publish(e1);
    await waitFor('e1 before the consumer goes away', () => before.includes(e1.id));
    await sub.close();
    await first.close();

    const publisher = await bus();
    const e2 = event('t4.thing.created');
    const e3 = event('t4.thing.updated');
    await publisher.publish(e2);
    await publisher.publish(e3);
    await sleep(300);
    expect(before).toEqual([e1.id]);

    const jsm = await admin.jetstreamManager();
    expect((await jsm.consumers.info(STREAM, 't4-durable')).num_pending).toBe(2);

    const again = await bus();
    const after: string[] = [];
    await again.subscribe('t4-durable', 't4.>', async (e) => {
      after.push(e.id);
    });
    await waitFor('e2 and e3 after re-subscribing', () => after.includes(e2.id) && after.includes(e3.id));
    expect(after).toEqual([e2.id, e3.id]);
  });
  it('reports its connection: down while NATS is unreachable, up again once it is back', async () => {
    const proxy = await startTcpProxy(hostPort(NATS_URL, 4222));
    try {
      const b = await createNatsBus({ url: `nats://127.0.0.1:${proxy.port}`, logger, stream: STREAM, subjectPrefix: PREFIX });
      buses.push(b);
      expect(b.connected?.()).toBe(true);
      await proxy.cut();
      await waitFor('the bus to report NATS down', () => b.connected?.() === false, 10_000);
      await proxy.restore();
      await waitFor('the bus to report NATS up again', () => b.connected?.() === true, 10_000);
    } finally {
      await proxy.close();
    }
  });

  it('a fan-out subscription reaches every instance, and leaves no durable consumer behind', async () => {
    const [a, b, publisher] = [await bus(), await bus(), await bus()];
    const got: Record<string, string[]> = { a: [], b: [] };
    await a.subscribe('cache', 'fan.>', async (e) => void got.a!.push(e.id), { fanout: true });
    await b.subscribe('cache', 'fan.>', async (e) => void got.b!.push(e.id), { fanout: true });
    const e1 = event('fan.key.revoked');
    await publisher.publish(e1);
    await waitFor('both instances receive the event', () => got.a!.length === 1 && got.b!.length === 1, 10_000);
    expect(got).toEqual({ a: [e1.id], b: [e1.id] });
    const jsm = await admin.jetstreamManager();
    const durables = (await jsm.consumers.list(STREAM).next()).filter((c) => c.config.durable_name === 'cache');
    expect(durables).toEqual([]);
  });
});
