import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

/** The PostgreSQL channel the outbox NOTIFYs when a transaction that added events commits. */
export const OUTBOX_CHANNEL = 'qalqan_outbox';

export interface Outbox {
  /** Records an event in the caller's transaction: it is published only if that transaction commits. */
  add(ex: Executor, topic: string, payload: Record<string, unknown>): Promise<void>;
}

export function createOutbox(deps: { ids: () => string; clock: () => Date }): Outbox {
  return {
    async add(ex, topic, payload) {
      // The NOTIFY rides on the insert (no extra round trip); PostgreSQL delivers it, once per transaction, at commit.
      await ex
        .insertInto('core_outbox')
        .values({ id: deps.ids(), topic, payload: JSON.stringify(payload), created_at: deps.clock() })
        .returning(sql<string>`pg_notify(${OUTBOX_CHANNEL}, '')`.as('notified'))
        .execute();
    },
  };
}
