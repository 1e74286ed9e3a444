import type { Database } from './db/database.js';
import type { EventBus } from './events/bus.js';
import type { Metrics } from './metrics.js';

export type DependencyState = 'up' | 'down';

export interface Dependencies {
  /** Asks each dependency now (database ping, bus connection), sets `qalqan_dependency_up` and returns the states. */
  check(): Promise<Record<string, DependencyState>>;
}

/** A ping that has not answered by then counts as down: readiness and scrapes must not hang on a dead database. */
const PING_TIMEOUT_MS = 2_000;

function withinTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The database always; NATS when the bus is NATS (the in-process bus has no broker to lose). */
export function createDependencies(deps: { database: Pick<Database, 'ping'>; bus: EventBus; metrics: Metrics }): Dependencies {
  return {
    async check() {
      const states: Record<string, DependencyState> = {};
      try {
        await withinTimeout(deps.database.ping(), PING_TIMEOUT_MS);
        states.database = 'up';
      } catch {
        states.database = 'down';
      }
      if (deps.bus.kind === 'nats') states.nats = (deps.bus.connected?.() ?? true) ? 'up' : 'down';
      for (const [dependency, state] of Object.entries(states)) deps.metrics.dependencyUp.set({ dependency }, state === 'up' ? 1 : 0);
      return states;
    },
  };
}
