import { sql, type Kysely } from 'kysely';

/**
 * STIR/SHAKEN reference data kept by the regulator: which operator each service provider code (SPC, named in a
 * certificate's TNAuthList) belongs to, so a certificate vouches for the operator its SPC names; and the hosts of
 * the operators' certificate repositories, from which an unknown x5u may be fetched.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE voice_stir_spcs (
    spc text PRIMARY KEY,
    operator_id uuid NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
  await sql`CREATE TABLE voice_stir_repositories (
    host text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
  )`.execute(db);
}
