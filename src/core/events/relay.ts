import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { releaseLease, takeLease } from '../db/lease.js';
import type { Executor } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { EventBus } from './bus.js';

/** One instance at a time relays, holding this lease (renewed every pass; taken over when it expires). */
const LEASE = 'outbox-relay';
const LEASE_SECONDS = 30;
/** The lease is held by this process; passes of relays within it never overlap. */
const HOLDER = randomUUID();
let processPasses: Promise<unknown> = Promise.resolve();
const BATCH = 500;

export interface OutboxRelay {
  start(): void;
  /** Asks for a pass soon (after a commit that added events). */
  kick(): void;
  /** Publishes everything pending now; resolves to the number published. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Moves committed outbox rows to the bus in insertion order, numbering them as it publishes, and marks them
 * published. Runs in every instance but only the lease holder works; a publish failure leaves the rest pending.
 */
export function createOutboxRelay(deps: { db: Executor; bus: EventBus; logger: Logger; metrics: Metrics; intervalMs?: number }): OutboxRelay {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopped = true;

  function pass(): Promise<number> {
    const next = processPasses.then(passNow, passNow);
    processPasses = next.catch(() => undefined);
    return next;
  }

  async function passNow(): Promise<number> {
    // Short statements only: no transaction or connection is held while the bus is slow or away. An idle pass
    // only reads (taking the lease is a write), so polling costs little.
    const any = await deps.db.selectFrom('core_outbox').select('seq').where('published_at', 'is', null).limit(1).executeTakeFirst();
    if (!any || !(await takeLease(deps.db, LEASE, HOLDER, LEASE_SECONDS))) return 0;
    const pending = await deps.db
      .selectFrom('core_outbox')
      .select(['seq', 'id', 'topic', 'payload', 'created_at'])
      .where('published_at', 'is', null)
      .orderBy('seq')
      .limit(BATCH)
      .execute();
    if (pending.length === 0) return 0;
    const numbers = await sql<{ n: string }>`select nextval('core_outbox_published_seq')::text as n from generate_series(1, ${pending.length})`.execute(deps.db);
    const publishedSeqs = numbers.rows.map((r) => BigInt(r.n)).sort((a, b) => (a < b ? -1 : 1));
    const sent: { seq: string; publishedSeq: string }[] = [];
    try {
      for (const [i, row] of pending.entries()) {
        const publishedSeq = String(publishedSeqs[i]);
        await deps.bus.publish({ id: row.id, topic: row.topic, payload: row.payload, occurredAt: row.created_at.toISOString(), seq: publishedSeq });
        deps.metrics.eventsPublished.inc({ topic: row.topic });
        sent.push({ seq: String(row.seq), publishedSeq });
      }
    } catch (err) {
      deps.logger.warn({ err, pending: pending.length - sent.length }, 'outbox relay: publish failed; will retry');
    }
    // If this fails after publishing, the events go out again later: consumers deduplicate by event id.
    if (sent.length > 0) {
      const values = sql.join(sent.map((s) => sql`(${s.seq}::bigint, ${s.publishedSeq}::bigint)`));
      await sql`update core_outbox o set published_at = now(), published_seq = v.ps from (values ${values}) as v(seq, ps) where o.seq = v.seq`.execute(deps.db);
    }
    return sent.length;
  }

  function run(): Promise<number> {
    running ??= pass()
      .catch((err) => {
        deps.logger.warn({ err }, 'outbox relay pass failed; will retry');
        return 0;
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  function schedule(delay: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      const n = await run();
      schedule(n === BATCH ? 0 : (deps.intervalMs ?? 250));
    }, delay);
  }

  return {
    start() {
      stopped = false;
      schedule(0);
    },
    kick() {
      schedule(0);
    },
    async drain() {
      let total = 0;
      for (;;) {
        if (running) await running;
        const n = await run();
        total += n;
        if (n < BATCH) return total;
      }
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (running) await running;
      await releaseLease(deps.db, LEASE, HOLDER).catch(() => undefined);
    },
  };
}
