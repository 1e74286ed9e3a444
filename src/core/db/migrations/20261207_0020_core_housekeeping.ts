import { sql, type Kysely } from 'kysely';

/**
 * Housekeeping (core/housekeeping.ts) deletes old rows in batches, oldest first: each table it prunes gets an index
 * on the column that says a row is old, so a batch reads only the rows it deletes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX core_outbox_published_at ON core_outbox (published_at) WHERE published_at IS NOT NULL`.execute(db);
  await sql`CREATE INDEX core_handled_events_handled_at ON core_handled_events (handled_at)`.execute(db);
  await sql`CREATE INDEX auth_sessions_expires_at ON auth_sessions (expires_at)`.execute(db);
}
