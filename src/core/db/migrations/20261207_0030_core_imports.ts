import { sql, type Kysely } from 'kysely';

/**
 * Every bulk import, from its start: who ran it for whom, its progress while it runs and its outcome. At most one
 * import of a kind runs for an organisation at a time (the partial unique index, race-free across instances; a
 * null organisation — the platform's own imports — counts as one organisation).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE core_imports (
      id text PRIMARY KEY,
      kind text NOT NULL,
      org_id uuid,
      actor_org_id uuid,
      actor text NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'committed', 'refused', 'failed', 'abandoned')),
      rows bigint NOT NULL DEFAULT 0,
      accepted bigint NOT NULL DEFAULT 0,
      rejected bigint NOT NULL DEFAULT 0,
      bytes bigint NOT NULL DEFAULT 0,
      refusal text,
      errors jsonb NOT NULL DEFAULT '[]',
      started_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      finished_at timestamptz
    )
  `.execute(db);
  await sql`
    CREATE UNIQUE INDEX core_imports_one_running ON core_imports (kind, coalesce(org_id::text, ''))
    WHERE status = 'running'
  `.execute(db);
  await sql`CREATE INDEX core_imports_started ON core_imports (started_at DESC, id DESC)`.execute(db);
}
