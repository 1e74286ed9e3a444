import type { Executor } from '../db/database.js';

export interface Outbox {
  /** Records an event in the caller's transaction: it is published only if that transaction commits. */
  add(ex: Executor, topic: string, payload: Record<string, unknown>): Promise<void>;
}

export function createOutbox(deps: { ids: () => string; clock: () => Date }): Outbox {
  return {
    async add(ex, topic, payload) {
      await ex
        .insertInto('core_outbox')
        .values({ id: deps.ids(), topic, payload: JSON.stringify(payload), created_at: deps.clock() })
        .execute();
    },
  };
}
