import { sql, type Kysely } from 'kysely';

/**
 * Which operator holds each Kazakh number range (by national-number prefix): with number portability it says who
 * a subscriber's home operator is, so only that operator reports the subscriber's roaming and only its signature
 * vouches for the number.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE voice_range_holders (
    prefix text PRIMARY KEY,
    operator_id uuid NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
}
