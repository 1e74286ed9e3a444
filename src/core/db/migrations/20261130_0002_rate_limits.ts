import { sql, type Kysely } from 'kysely';

/** Shared rate-limit counters for several instances; unlogged: losing them in a crash is harmless. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNLOGGED TABLE core_rate_limits (
      key text PRIMARY KEY,
      count integer NOT NULL,
      window_end timestamptz NOT NULL
    )
  `.execute(db);
}
