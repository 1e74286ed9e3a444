import type { EventBus, QalqanEvent } from '../core/events/bus.js';

/** A bus that takes every event and delivers none (NATS away): only what the writer applies itself can show. */
export function deafBus(): EventBus {
  return {
    kind: 'memory',
    publish: async () => undefined,
    subscribe: async () => ({ close: async () => undefined }),
    close: async () => undefined,
  };
}

/** A bus that records what it is given; `failAfter` makes it throw once that many events have gone through. */
export function recordingBus(options: { failAfter?: number } = {}): EventBus & { published: QalqanEvent[] } {
  const published: QalqanEvent[] = [];
  return {
    kind: 'memory',
    published,
    async publish(event) {
      if (options.failAfter !== undefined && published.length >= options.failAfter) throw new Error('broker unavailable');
      published.push(event);
    },
    async subscribe() {
      return { close: async () => {} };
    },
    async close() {},
  };
}
