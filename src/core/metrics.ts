import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { RouteDurations } from './route-durations.js';

export interface Metrics {
  registry: Registry;
  httpDuration: RouteDurations;
  eventsPublished: Counter<'topic'>;
  /** 1 when a dependency (database, nats) answers, 0 when not; refreshed at every scrape and readiness check. */
  dependencyUp: Gauge<'dependency'>;
  /** Connections (or HTTP/2 streams) the HTTP limits closed, by listener (api, sbi) and reason (core/http/limits.ts). */
  httpConnectionsClosed: Counter<'listener' | 'reason'>;
  /** Rows housekeeping deleted, by kind: outbox, handled_events, sessions; and staging_tables dropped (core/housekeeping.ts). */
  housekeepingPruned: Counter<'kind'>;
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
    dependencyUp: new Gauge({
      name: 'qalqan_dependency_up',
      help: 'Whether a dependency answers: 1 up, 0 down (database; nats when configured)',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    httpConnectionsClosed: new Counter({
      name: 'qalqan_http_connections_closed_total',
      help: 'HTTP connections (HTTP/2: streams, for request-timeout) closed by a limit, by listener (api, sbi): headers-timeout, request-timeout, per-address-cap',
      labelNames: ['listener', 'reason'],
      registers: [registry],
    }),
    housekeepingPruned: new Counter({
      name: 'qalqan_housekeeping_pruned_total',
      help: 'Rows deleted by housekeeping, by kind: outbox (published events past the retention), handled_events, sessions (expired); staging_tables: stale import staging tables dropped',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}
