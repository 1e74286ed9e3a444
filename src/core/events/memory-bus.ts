import type { Logger } from '../logger.js';
import { topicMatches, type EventBus, type EventHandler, type QalqanEvent } from './bus.js';

interface Entry {
  consumer: string;
  pattern: string;
  handler: EventHandler;
  queue: Promise<void>;
}

const RETRIES = 5;

/**
 * In-process bus for the single-process default. Each subscription handles its events in order; a failing handler
 * is retried with back-off; what still fails is logged and dropped (use NATS for durable delivery).
 */
export function createMemoryBus(logger: Logger, retryDelayMs = 100): EventBus & { settled(): Promise<void> } {
  const entries = new Set<Entry>();

  async function deliver(entry: Entry, event: QalqanEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await entry.handler(event);
        return;
      } catch (err) {
        if (attempt >= RETRIES) {
          logger.error({ err, consumer: entry.consumer, topic: event.topic, eventId: event.id }, 'event handler failed');
          return;
        }
        await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** attempt));
      }
    }
  }

  return {
    kind: 'memory',
    async publish(event) {
      for (const entry of entries) {
        if (!topicMatches(entry.pattern, event.topic)) continue;
        entry.queue = entry.queue.then(() => deliver(entry, event));
      }
    },
    async subscribe(consumer, pattern, handler) {
      const entry: Entry = { consumer, pattern, handler, queue: Promise.resolve() };
      entries.add(entry);
      return {
        close: async () => {
          entries.delete(entry);
          await entry.queue;
        },
      };
    },
    /** Resolves when every delivery queued so far has been handled. */
    async settled() {
      await Promise.all([...entries].map((e) => e.queue));
    },
    async close() {
      await Promise.all([...entries].map((e) => e.queue));
      entries.clear();
    },
  };
}
