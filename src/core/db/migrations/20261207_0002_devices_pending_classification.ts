import { sql, type Kysely } from 'kysely';

/**
 * IMEIs whose classification is owed: written in the same transaction as the change that needs it (a block, a
 * registration, an observation import …) and deleted in the transaction that classifies them, so a crash between
 * the two leaves the work here for the next start. `mark` grows with every (re-)queueing: a classification deletes
 * only the marks it read, so a change queued again while it ran is classified again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE devices_classification_pending (
      imei14 char(14) PRIMARY KEY,
      mark bigserial NOT NULL
    )
  `.execute(db);
}
