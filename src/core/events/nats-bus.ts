import { AckPolicy, DeliverPolicy, JSONCodec, connect, type ConsumerMessages, type NatsConnection } from 'nats';
import type { Logger } from '../logger.js';
import type { EventBus, EventHandler, QalqanEvent } from './bus.js';

export interface NatsBusOptions {
  url: string;
  logger: Logger;
  /** JetStream stream holding every Qalqan event; tests use their own. */
  stream?: string;
  subjectPrefix?: string;
}

const codec = JSONCodec<QalqanEvent>();

/**
 * JetStream bus: events are stored in one stream (deduplicated by event id), each consumer name is a durable
 * consumer with explicit acks, so delivery is at-least-once and survives restarts of this process or of NATS.
 */
export async function createNatsBus(options: NatsBusOptions): Promise<EventBus> {
  const stream = options.stream ?? 'QALQAN';
  const prefix = options.subjectPrefix ?? 'qalqan';
  const log = options.logger;
  const nc: NatsConnection = await connect({
    servers: options.url,
    name: `qalqan-${process.pid}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  let up = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') up = false;
      else if (status.type === 'reconnect') up = true;
      log.info({ nats: status.type }, 'nats status');
    }
  })();
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  try {
    await jsm.streams.info(stream);
  } catch {
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: 2 * 60 * 1_000_000_000 });
  }
  const running = new Set<ConsumerMessages>();
  /** The latest publish issued and not yet acknowledged, if any. */
  let unacknowledged: { id: string } | null = null;

  async function consume(messages: ConsumerMessages, consumer: string, handler: EventHandler): Promise<void> {
    for await (const m of messages) {
      let event: QalqanEvent;
      try {
        event = codec.decode(m.data);
      } catch (err) {
        // Not one of ours: drop it for good rather than redeliver it forever.
        log.error({ err, consumer, subject: m.subject }, 'undecodable event dropped');
        m.term();
        continue;
      }
      try {
        await handler(event);
        m.ack();
      } catch (err) {
        log.warn({ err, consumer, topic: event.topic, eventId: event.id, redelivery: m.info.deliveryCount }, 'event handler failed; will redeliver');
        m.nak(Math.min(30_000, 200 * 2 ** m.info.deliveryCount));
      }
    }
  }

  return {
    kind: 'nats',
    connected: () => up && !nc.isClosed(),
    async publish(event) {
      // A publish may be issued before the one before it is acknowledged (the relay pipelines a batch). One
      // connection keeps them in order, and each names that one as the stream's expected last message: if it was
      // not stored, this one is refused too, so an event never overtakes an earlier one that failed. A duplicate is
      // acknowledged before the expectation is checked, so publishing rows again works; only an event right after a
      // duplicate that is not the stream's last message is refused, and goes out on the relay's next pass.
      const previous = unacknowledged;
      const mine = { id: event.id };
      unacknowledged = mine;
      try {
        await js.publish(`${prefix}.${event.topic}`, codec.encode(event), {
          msgID: event.id,
          timeout: 5_000,
          ...(previous && { expect: { lastMsgID: previous.id } }),
        });
      } finally {
        if (unacknowledged === mine) unacknowledged = null;
      }
    },
    async subscribe(consumer, pattern, handler, subscribeOptions) {
      const subject = `${prefix}.${pattern}`;
      let messages: ConsumerMessages;
      if (subscribeOptions?.fanout) {
        // An ordered consumer: ephemeral, per instance, recreated by the client after a reconnect.
        messages = await (await js.consumers.get(stream, { filterSubjects: subject, deliver_policy: DeliverPolicy.New })).consume();
      } else {
        const durable = consumer.replace(/[^A-Za-z0-9_-]/g, '_');
        await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: subject,
          ack_wait: 30_000_000_000,
        });
        messages = await (await js.consumers.get(stream, durable)).consume();
      }
      running.add(messages);
      const done = consume(messages, consumer, handler).catch((err) => log.error({ err, consumer }, 'event consumer stopped'));
      return {
        close: async () => {
          running.delete(messages);
          messages.stop();
          await done;
        },
      };
    },
    async close() {
      for (const m of running) m.stop();
      running.clear();
      await nc.drain();
    },
  };
}
