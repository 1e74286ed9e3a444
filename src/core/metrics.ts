import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { RouteDurations } from './route-durations.js';

export interface Metrics {
  registry: Registry;
  httpDuration: RouteDurations;
  eventsPublished: Counter<'topic'>;
}

/** One registry per app instance, so tests that start several apps in a process do not collide. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new RouteDurations(registry),
    eventsPublished: new Counter({
      name: 'qalqan_events_published_total',
      help: 'Events relayed from the outbox to the bus',
      labelNames: ['topic'],
      registers: [registry],
    }),
  };
}
