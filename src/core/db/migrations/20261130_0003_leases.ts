import { sql, type Kysely } from 'kysely';

/** Leases: work that one instance at a time must do (the outbox relay), taken and renewed with a deadline. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE core_leases (
      name text PRIMARY KEY,
      holder text NOT NULL,
      until timestamptz NOT NULL
    )
  `.execute(db);
}
