import type { Executor } from '../db/database.js';
import type { QalqanEvent } from './bus.js';

/**
 * Runs `fn` in a transaction that also records (consumer, event id); a redelivered event finds the record and is
 * skipped, so at-least-once delivery becomes exactly-once effect. Returns false for a duplicate.
 */
export async function handleOnce(db: Executor, consumer: string, event: QalqanEvent, fn: (trx: Executor) => Promise<void>): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('core_handled_events')
      .values({ consumer, event_id: event.id, handled_at: new Date() })
      .onConflict((oc) => oc.doNothing())
      .returning('event_id')
      .executeTakeFirst();
    if (!inserted) return false;
    await fn(trx);
    return true;
  });
}
