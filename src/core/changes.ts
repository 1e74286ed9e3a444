import type { Kysely } from 'kysely';
import type { AuditEntry, AuditService } from './audit/service.js';
import type { RequestContext } from './auth/principal.js';
import type { Executor } from './db/database.js';
import type { Outbox } from './events/outbox.js';

/** One change in progress: a module's tables in the change's transaction, its audit entries and its events. */
export interface Change<T> {
  /** This module's tables, in the change's transaction (a repository takes this). */
  db: Kysely<T>;
  /** Appends an audit entry that commits with the change, or not at all. */
  audit(entry: AuditEntry): Promise<void>;
  /** Adds an event to the outbox: it is published only once the change commits. */
  publish(topic: string, payload: Record<string, unknown>): Promise<void>;
}

/** Runs `work` as one change made by `ctx`: one transaction holding the module's writes, its audit entries and events. */
export type RunChange<T> = <R>(ctx: RequestContext, work: (change: Change<T>) => Promise<R>) => Promise<R>;

/** The database typed with one module's tables only: a repository given it cannot name another module's table. */
export const tablesOf = <T>(db: Executor): Kysely<T> => db as unknown as Kysely<T>;

/** "Transaction → repository → audit → outbox", once, for every module. */
export function createChanges<T>(deps: { db: Executor; audit: AuditService; outbox: Outbox }): RunChange<T> {
  return (ctx, work) =>
    deps.db.transaction().execute((trx) =>
      work({
        db: tablesOf<T>(trx),
        audit: (entry) => deps.audit.record(trx, ctx, entry),
        publish: (topic, payload) => deps.outbox.add(trx, topic, payload),
      }),
    );
}
