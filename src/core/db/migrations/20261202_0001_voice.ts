import { sql, type Kysely } from 'kysely';

/**
 * The voice module: number portability, do-not-originate list, roaming registry, blocklisted numbers (fed by
 * events), screening policies and trunks, daily counters, and the STIR/SHAKEN certificate store and signing
 * credentials. Numbers are stored in E.164.
 */
const statements = [
  `CREATE TABLE voice_ported (
    msisdn text PRIMARY KEY,
    operator_id uuid NOT NULL,
    ported_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE voice_dno (
    msisdn text PRIMARY KEY,
    label text NOT NULL,
    added_by uuid,
    added_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE voice_roaming (
    msisdn text PRIMARY KEY,
    operator_id uuid NOT NULL,
    country text,
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX voice_roaming_expires ON voice_roaming (expires_at)`,
  `CREATE TABLE voice_blocklist (
    msisdn text PRIMARY KEY,
    source text NOT NULL,
    reference text,
    added_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE voice_policies (
    operator_id text PRIMARY KEY,
    block_reasons jsonb NOT NULL,
    flag_reasons jsonb NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE voice_trunks (
    id text PRIMARY KEY,
    name text NOT NULL,
    operator_id uuid,
    addresses jsonb NOT NULL,
    ingress text NOT NULL CHECK (ingress IN ('international', 'domestic')),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE voice_stats_daily (
    day date NOT NULL,
    operator_id text NOT NULL,
    verdict text NOT NULL,
    reason text NOT NULL,
    calls bigint NOT NULL,
    PRIMARY KEY (day, operator_id, verdict, reason)
  )`,
  `CREATE TABLE voice_stir_certificates (
    id uuid PRIMARY KEY,
    operator_id uuid,
    x5u text NOT NULL UNIQUE,
    pem text NOT NULL,
    fingerprint text NOT NULL,
    subject text NOT NULL,
    trust_anchor boolean NOT NULL DEFAULT false,
    not_before timestamptz NOT NULL,
    not_after timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE voice_stir_credentials (
    operator_id uuid PRIMARY KEY,
    certificate_id uuid NOT NULL REFERENCES voice_stir_certificates (id),
    private_key_enc text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
