import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

type IncrCallback = (err: Error | null, result?: { current: number; ttl: number }) => void;

interface StoreOptions {
  timeWindow?: number;
  routeInfo?: { method?: string; url?: string };
}

const SWEEP_EVERY = 1_000;

/**
 * A @fastify/rate-limit store on the database, so every instance counts the same requests (fixed windows).
 * Used on PostgreSQL; the embedded single process keeps the plugin's in-memory store.
 */
export function databaseRateLimitStore(db: Executor) {
  let calls = 0;
  return class DatabaseRateLimitStore {
    private readonly route: string;
    constructor(private readonly options: StoreOptions) {
      this.route = `${options.routeInfo?.method ?? '*'} ${options.routeInfo?.url ?? '*'}`;
    }

    incr(key: string, cb: IncrCallback, timeWindow?: number): void {
      const windowMs = timeWindow ?? this.options.timeWindow ?? 60_000;
      const id = `${this.route}|${key}`;
      // Now and then, drop long-expired counters; a failure here (database away) only postpones it.
      if (++calls % SWEEP_EVERY === 0) {
        db.deleteFrom('core_rate_limits')
          .where('window_end', '<', sql<Date>`now() - interval '1 hour'`)
          .execute()
          .catch(() => undefined);
      }
      sql<{ count: number; ttl: number }>`
        INSERT INTO core_rate_limits AS r (key, count, window_end)
        VALUES (${id}, 1, now() + make_interval(secs => ${windowMs / 1000}))
        ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN r.window_end <= now() THEN 1 ELSE r.count + 1 END,
          window_end = CASE WHEN r.window_end <= now() THEN now() + make_interval(secs => ${windowMs / 1000}) ELSE r.window_end END
        RETURNING count, (extract(epoch from (window_end - now())) * 1000)::float8 AS ttl`
        .execute(db)
        .then(
          (res) => {
            const row = res.rows[0]!;
            cb(null, { current: Number(row.count), ttl: Math.max(0, Math.round(Number(row.ttl))) });
          },
          (err: Error) => cb(err),
        );
    }

    child(routeOptions: StoreOptions): DatabaseRateLimitStore {
      return new DatabaseRateLimitStore({ ...this.options, ...routeOptions });
    }
  };
}
