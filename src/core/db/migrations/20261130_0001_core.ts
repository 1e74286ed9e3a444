import { sql, type Kysely } from 'kysely';

const statements = [
  `
    CREATE TABLE auth_organisations (
      id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
      kind text NOT NULL CHECK (kind IN ('regulator', 'operator', 'bank', 'marketplace', 'isp', 'police')),
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `,
  `
    CREATE TABLE auth_api_keys (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES auth_organisations (id),
      name text NOT NULL,
      prefix text NOT NULL UNIQUE,
      key_hash text NOT NULL,
      scopes text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )
  `,
  `
    CREATE INDEX auth_api_keys_org ON auth_api_keys (org_id)
  `,
  `
    CREATE TABLE auth_users (
      id uuid PRIMARY KEY,
      email text NOT NULL UNIQUE CHECK (email = lower(email)),
      org_id uuid REFERENCES auth_organisations (id),
      role text NOT NULL,
      password_hash text NOT NULL,
      must_change_password boolean NOT NULL DEFAULT true,
      failed_logins integer NOT NULL DEFAULT 0,
      locked_until timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `,
  `
    CREATE TABLE auth_sessions (
      id_hash text PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    )
  `,
  `
    CREATE INDEX auth_sessions_user ON auth_sessions (user_id)
  `,
  `
    CREATE TABLE audit_log (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      actor text NOT NULL,
      org_id uuid,
      action text NOT NULL,
      subject_type text,
      subject text,
      request_id text,
      ip text,
      detail jsonb
    )
  `,
  `
    CREATE INDEX audit_log_at ON audit_log (at)
  `,
  `
    CREATE INDEX audit_log_actor ON audit_log (actor, id)
  `,
  `
    CREATE INDEX audit_log_action ON audit_log (action, id)
  `,
  `
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END
    $$
  `,
  `
    CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
  `,
  `
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
  `,
  `
    CREATE TABLE core_outbox (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      topic text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz,
      published_seq bigint UNIQUE
    )
  `,
  `
    CREATE SEQUENCE core_outbox_published_seq
  `,
  `
    CREATE INDEX core_outbox_pending ON core_outbox (seq) WHERE published_at IS NULL
  `,
  `
    CREATE TABLE core_handled_events (
      consumer text NOT NULL,
      event_id uuid NOT NULL,
      handled_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    )
  `,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
