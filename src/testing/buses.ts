import type { EventBus } from '../core/events/bus.js';

/** A bus that takes every event and delivers none (NATS away): only what the writer applies itself can show. */
export function deafBus(): EventBus {
  return {
    kind: 'memory',
    publish: async () => undefined,
    subscribe: async () => ({ close: async () => undefined }),
    close: async () => undefined,
  };
}
