import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { releaseLease, takeLease } from '../db/lease.js';
import type { Database, Executor, OwnPool } from '../db/database.js';
import type { Listening } from '../db/listen.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { EventBus } from './bus.js';
import { OUTBOX_CHANNEL } from './outbox.js';

/** One instance at a time relays, holding this lease (renewed every pass; taken over when it expires). */
const LEASE = 'outbox-relay';
const LEASE_SECONDS = 30;
/** The lease is held by this process; passes of relays within it never overlap. */
const HOLDER = randomUUID();
let processPasses: Promise<unknown> = Promise.resolve();
const BATCH = 500;
/** The listening holder renews its lease this often while idle, so it stays the one woken by NOTIFY. */
const RENEW_IDLE_MS = 10_000;

export interface OutboxRelay {
  start(): void;
  /** Asks for a pass now, or right after the one running (a commit may have added events). */
  kick(): void;
  /** Publishes everything pending now; resolves to the number published. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

export interface OutboxRelayDeps {
  db: Executor;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  /** The poll, a fallback for wake-ups that were missed (default 250 ms). */
  intervalMs?: number;
  /** Wakes the relay after each commit in this process (started instances only). */
  onCommit?: Database['onCommit'];
  /** PostgreSQL: the lease holder LISTENs for the NOTIFY of commits on every instance. */
  listen?: Database['listen'];
  /** PostgreSQL: a started relay works on a connection of its own, not queued behind requests in the shared pool. */
  ownPool?: Database['ownPool'];
}

/**
 * Moves committed outbox rows to the bus in insertion order, numbering them as it publishes, and marks them
 * published: a batch of up to 500 rows a pass, its publishes pipelined, marked in one statement, the next pass at
 * once while rows remain. Runs in every instance but only the lease holder works; what the bus refuses stays pending.
 * A started relay passes at once after a commit in its own process and, holding the lease on PostgreSQL, after a
 * commit on any instance (NOTIFY); the poll catches anything else.
 */
export function createOutboxRelay(deps: OutboxRelayDeps): OutboxRelay {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = true;
  let stopCommits: (() => void) | null = null;
  let listening: Promise<Listening> | null = null;
  /** Until then another instance is known to hold the lease: this one's commits need not wake it. */
  let otherHoldsUntil = 0;
  let renewedAt = 0;
  let own: OwnPool | null = null;
  const db = () => own?.db ?? deps.db;

  function pass(): Promise<number> {
    const next = processPasses.then(passNow, passNow);
    processPasses = next.catch(() => undefined);
    return next;
  }

  async function passNow(): Promise<number> {
    // Short statements only: no transaction or connection is held while the bus is slow or away. An idle pass
    // only reads (taking the lease is a write), so polling costs little.
    const any = await db().selectFrom('core_outbox').select('seq').where('published_at', 'is', null).limit(1).executeTakeFirst();
    // Idle, a relay that could listen claims the lease now and then, so that one instance is always woken by NOTIFY.
    const claim = !any && deps.listen !== undefined && !stopped && Date.now() >= otherHoldsUntil && Date.now() - renewedAt >= RENEW_IDLE_MS;
    if (!any && !claim) return 0;
    if (!(await takeLease(db(), LEASE, HOLDER, LEASE_SECONDS))) {
      otherHoldsUntil = Date.now() + LEASE_SECONDS * 1000;
      await unlisten();
      return 0;
    }
    otherHoldsUntil = 0;
    renewedAt = Date.now();
    listen();
    if (!any) return 0;
    // The pass's publication numbers come with its rows (one round trip); they are handed out in row order below.
    const pending = await db()
      .selectFrom('core_outbox')
      .select(['seq', 'id', 'topic', 'payload', 'created_at', sql<string>`nextval('core_outbox_published_seq')::text`.as('number')])
      .where('published_at', 'is', null)
      .orderBy('seq')
      .limit(BATCH)
      .execute();
    if (pending.length === 0) return 0;
    const publishedSeqs = pending.map((r) => BigInt(r.number)).sort((a, b) => (a < b ? -1 : 1));
    // Pipelined: every publish is issued, in order, before any acknowledgement is awaited. The bus keeps them in
    // that order (NATS: one connection, and each names the one before it, so one that fails fails those after it).
    const events = pending.map((row, i) => ({ row, publishedSeq: String(publishedSeqs[i]) }));
    const results = await Promise.allSettled(
      events.map(({ row, publishedSeq }) =>
        deps.bus.publish({ id: row.id, topic: row.topic, payload: row.payload, occurredAt: row.created_at.toISOString(), seq: publishedSeq }),
      ),
    );
    const sent = events.filter((_, i) => results[i]!.status === 'fulfilled');
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) deps.logger.warn({ err: failed.reason, pending: pending.length - sent.length }, 'outbox relay: publish failed; will retry');
    for (const { row } of sent) deps.metrics.eventsPublished.inc({ topic: row.topic });
    // If this fails after publishing, the events go out again later: the bus deduplicates by event id (NATS: the
    // stream's duplicate window), consumers too.
    if (sent.length > 0) {
      const values = sql.join(sent.map((s) => sql`(${String(s.row.seq)}::bigint, ${s.publishedSeq}::bigint)`));
      await sql`update core_outbox o set published_at = now(), published_seq = v.ps from (values ${values}) as v(seq, ps) where o.seq = v.seq`.execute(db());
    }
    return sent.length;
  }

  function listen(): void {
    if (listening || stopped || !deps.listen) return;
    listening = deps.listen(OUTBOX_CHANNEL, wake, (err) => deps.logger.warn({ err }, 'outbox relay: LISTEN connection lost; reconnecting'));
    listening.catch(() => (listening = null));
  }

  async function unlisten(): Promise<void> {
    const was = listening;
    listening = null;
    await (await was?.catch(() => null))?.close();
  }

  function run(): Promise<number> {
    if (running) return running;
    again = false;
    running = pass()
      .catch((err) => {
        deps.logger.warn({ err }, 'outbox relay pass failed; will retry');
        return 0;
      })
      .finally(() => {
        running = null;
        // Woken while passing: the commit may have come after this pass looked.
        if (again) schedule(0);
      });
    return running;
  }

  function schedule(delay: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = null;
      const n = await run();
      if (!timer) schedule(n === BATCH ? 0 : (deps.intervalMs ?? 250));
    }, delay);
  }

  function wake(): void {
    again = true;
    if (!running) schedule(0);
  }

  return {
    start() {
      stopped = false;
      own ??= deps.ownPool?.(1) ?? null;
      stopCommits =
        deps.onCommit?.(() => {
          if (Date.now() >= otherHoldsUntil) wake();
        }) ?? null;
      schedule(0);
    },
    kick() {
      wake();
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
      stopCommits?.();
      stopCommits = null;
      if (timer) clearTimeout(timer);
      if (running) await running;
      await unlisten();
      await releaseLease(db(), LEASE, HOLDER).catch(() => undefined);
      await own?.close();
      own = null;
    },
  };
}
