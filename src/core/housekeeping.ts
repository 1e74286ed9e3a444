import { randomUUID } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';
import type { Executor } from './db/database.js';
import { releaseLease, takeLease } from './db/lease.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** Held by the instance whose pass runs, renewed before every batch: two passes never prune at once. */
const RUN_LEASE = 'housekeeping';
const RUN_LEASE_SECONDS = 300;
/**
 * Taken for one period (HOUSEKEEPING_EVERY_MINUTES) by a fresh holder at every scheduled check, so it is taken only
 * once the last one has expired, whoever took it: across instances one scheduled pass runs per period.
 */
const SCHEDULE_LEASE = 'housekeeping-schedule';
/** Each instance checks this often (or every period, when shorter) whether this period's pass is still to run. */
const MAX_CHECK_MS = 5 * 60_000;
/** Rows one statement deletes at most: each batch is its own short transaction, with few locks and little WAL. */
export const HOUSEKEEPING_BATCH = 10_000;
const DAY_MS = 86_400_000;

/** Rows one pass deleted. */
export interface HousekeepingCounts {
  /** Outbox rows published longer ago than the retention. */
  outbox: number;
  /** Handled-event records older than the retention. */
  handledEvents: number;
  /** Console sessions past their expiry. */
  sessions: number;
  /** Import staging tables that no running import held (PostgreSQL: left by an instance killed mid-import). */
  stagingTables: number;
}

export interface HousekeepingDeps {
  db: Executor;
  logger: Logger;
  metrics: Metrics;
  clock: () => Date;
  /** HOUSEKEEPING_RETENTION_DAYS: how long published events and handled-event records are kept. */
  retentionDays: number;
  /** Rows per statement (default HOUSEKEEPING_BATCH). */
  batch?: number;
  /**
   * Drops the staging tables no running import holds and names them: on PostgreSQL, where an instance killed
   * mid-import may never start again. (The embedded database's one process does it at start, and only then.)
   */
  dropStaleStaging?: () => Promise<string[]>;
  /** Ends each pass with the database's own upkeep (`Database.maintain`: on PGlite, ANALYZE and CHECKPOINT). */
  maintain?: () => Promise<void>;
}

export interface Housekeeping {
  /** One pass now; null when a pass holds the lease (on this or another instance). */
  runOnce(): Promise<HousekeepingCounts | null>;
  /** The scheduled pass: runs unless this period's has already run on some instance; null when it has (or is running). */
  scheduledPass(everyMs: number): Promise<HousekeepingCounts | null>;
  /** Checks every few minutes whether a period of `everyMs` has passed since the last scheduled pass, and runs one. */
  start(everyMs: number): void;
  /** Ends the schedule and waits for a running pass. */
  stop(): Promise<void>;
}

const count = (deleted: RawBuilder<unknown>) => sql<{ n: number }>`with d as (${deleted} returning 1) select count(*)::int as n from d`;

/**
 * Deletes, in batches, what nobody reads any more:
 * - outbox rows published before the cutoff (now − retention). Never an unpublished row (the relay has yet to send
 *   it), and never the row with the highest publication number, so the outbox always shows how far publication
 *   has come (the cursor a cache's snapshot reflects: it applies the events numbered above it). Nothing else reads a
 *   published row back: instances follow events through the bus (JetStream keeps them for durable consumers) and
 *   reload their indexes from the tables on start; the retention is a margin, a window to look at recent events;
 * - handled-event records older than the cutoff: they make a redelivered event a no-op, and an event already
 *   handled comes again only when its acknowledgement was lost (JetStream redelivers after its acknowledgement
 *   wait, seconds) or its row was still pending (the relay republishes it on its next pass): far inside the cutoff;
 * - console sessions that have expired (they no longer sign anyone in);
 * - with `dropStaleStaging`, import staging tables that no running import holds;
 * and, with `maintain`, ends with the database's upkeep (on the embedded database, which runs none itself).
 */
export function createHousekeeping(deps: HousekeepingDeps): Housekeeping {
  const batch = deps.batch ?? HOUSEKEEPING_BATCH;
  const holder = randomUUID();
  let running: Promise<HousekeepingCounts | null> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let scheduled: Promise<unknown> = Promise.resolve();

  /** Runs `statement` until it deletes less than a batch, renewing the lease before each; `lost` when another took it. */
  async function prune(kind: string, statement: () => RawBuilder<{ n: number }>): Promise<{ deleted: number; lost: boolean }> {
    let deleted = 0;
    for (;;) {
      if (!(await takeLease(deps.db, RUN_LEASE, holder, RUN_LEASE_SECONDS))) return { deleted, lost: true };
      const n = (await statement().execute(deps.db)).rows[0]?.n ?? 0;
      deleted += n;
      deps.metrics.housekeepingPruned.inc({ kind }, n);
      if (n < batch) return { deleted, lost: false };
      // The embedded database runs on this thread: let requests in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async function pass(): Promise<HousekeepingCounts | null> {
    if (!(await takeLease(deps.db, RUN_LEASE, holder, RUN_LEASE_SECONDS))) return null;
    try {
      const now = deps.clock();
      const cutoff = new Date(now.getTime() - deps.retentionDays * DAY_MS);
      const steps: [keyof HousekeepingCounts, string, () => RawBuilder<{ n: number }>][] = [
        [
          'outbox',
          'outbox',
          () =>
            count(sql`delete from core_outbox where seq in (
              select seq from core_outbox where published_at < ${cutoff} and published_seq < (select max(published_seq) from core_outbox)
              order by published_at limit ${batch})`),
        ],
        [
          'handledEvents',
          'handled_events',
          () =>
            count(sql`delete from core_handled_events where (consumer, event_id) in (
              select consumer, event_id from core_handled_events where handled_at < ${cutoff} order by handled_at limit ${batch})`),
        ],
        [
          'sessions',
          'sessions',
          () =>
            count(sql`delete from auth_sessions where id_hash in (
              select id_hash from auth_sessions where expires_at < ${now} order by expires_at limit ${batch})`),
        ],
      ];
      const counts: HousekeepingCounts = { outbox: 0, handledEvents: 0, sessions: 0, stagingTables: 0 };
      for (const [field, kind, statement] of steps) {
        const { deleted, lost } = await prune(kind, statement);
        counts[field] = deleted;
        if (lost) {
          deps.logger.warn({ ...counts }, 'housekeeping: the lease passed to another instance; this pass stops');
          return counts;
        }
      }
      counts.stagingTables = (await deps.dropStaleStaging?.())?.length ?? 0;
      deps.metrics.housekeepingPruned.inc({ kind: 'staging_tables' }, counts.stagingTables);
      await deps.maintain?.();
      deps.logger.info({ ...counts, retentionDays: deps.retentionDays }, 'housekeeping done');
      return counts;
    } finally {
      await releaseLease(deps.db, RUN_LEASE, holder);
    }
  }

  function runOnce(): Promise<HousekeepingCounts | null> {
    if (running) return Promise.resolve(null);
    running = pass().finally(() => (running = null));
    return running;
  }

  async function scheduledPass(everyMs: number): Promise<HousekeepingCounts | null> {
    const turn = randomUUID();
    if (!(await takeLease(deps.db, SCHEDULE_LEASE, turn, everyMs / 1000))) return null;
    try {
      return await runOnce();
    } catch (err) {
      // A failed pass gives its period back: the next check, on any instance, tries again.
      await releaseLease(deps.db, SCHEDULE_LEASE, turn).catch(() => undefined);
      throw err;
    }
  }

  return {
    runOnce,
    scheduledPass,
    start(everyMs) {
      if (timer) return;
      timer = setInterval(
        () => {
          scheduled = scheduledPass(everyMs).catch((err: unknown) => deps.logger.error({ err }, 'housekeeping failed; will retry'));
        },
        Math.min(everyMs, MAX_CHECK_MS),
      );
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await scheduled;
      await running?.catch(() => undefined);
    },
  };
}
