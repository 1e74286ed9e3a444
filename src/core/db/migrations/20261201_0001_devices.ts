import { sql, type Kysely } from 'kysely';

/** The devices module: TAC database, IMEI registry, stolen list, network observations, classification, lists. */
const statements = [
  `CREATE TABLE devices_tac (
    tac char(8) PRIMARY KEY,
    manufacturer text NOT NULL,
    model_name text NOT NULL,
    bands text,
    allocation_date text,
    device_type text,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE devices_registrations (
    imei14 char(14) PRIMARY KEY,
    imei char(15) NOT NULL,
    source text NOT NULL CHECK (source IN ('importer', 'individual', 'service_centre', 'grandfathered')),
    reference text,
    org_id uuid,
    registered_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX devices_registrations_at ON devices_registrations (registered_at)`,
  `CREATE TABLE devices_stolen (
    imei14 char(14) PRIMARY KEY,
    case_number text NOT NULL,
    source text NOT NULL,
    org_id uuid,
    blocked_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE devices_stolen_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    imei14 char(14) NOT NULL,
    action text NOT NULL CHECK (action IN ('block', 'unblock')),
    case_number text,
    source text NOT NULL,
    org_id uuid,
    at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX devices_stolen_history_at ON devices_stolen_history (at)`,
  `CREATE TABLE devices_orders (
    imei14 char(14) PRIMARY KEY,
    order_ref text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE devices_observations (
    imei14 char(14) NOT NULL,
    imsi text NOT NULL,
    operator_id uuid NOT NULL,
    msisdn text,
    rat text,
    first_seen date NOT NULL,
    last_seen date NOT NULL,
    PRIMARY KEY (imei14, imsi, operator_id)
  )`,
  `CREATE INDEX devices_observations_operator ON devices_observations (operator_id, last_seen)`,
  `CREATE TABLE devices_pairings (
    imei14 char(14) NOT NULL,
    imsi text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (imei14, imsi)
  )`,
  `CREATE TABLE devices_conditions (
    name text PRIMARY KEY CHECK (name IN ('malformed', 'tac_unknown', 'not_registered', 'stolen', 'duplicate', 'blocked_by_order')),
    blocking boolean NOT NULL,
    grace_days integer NOT NULL CHECK (grace_days >= 0),
    sticky boolean NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    params jsonb NOT NULL DEFAULT '{}'
  )`,
  `INSERT INTO devices_conditions (name, blocking, grace_days, sticky, params) VALUES
    ('malformed', true, 0, false, '{}'),
    ('tac_unknown', true, 30, false, '{}'),
    ('not_registered', true, 30, false, '{}'),
    ('stolen', true, 0, true, '{}'),
    ('duplicate', true, 0, false, '{"maxImsis": 4, "windowDays": 30}'),
    ('blocked_by_order', true, 0, true, '{}')`,
  `CREATE TABLE devices_classification (
    imei14 char(14) PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('white', 'grey', 'black')),
    reasons text[] NOT NULL,
    first_flagged date,
    deadline date,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE TABLE devices_list_changes (
    version bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('black', 'notification', 'exception')),
    imei14 char(14) NOT NULL,
    imsi text NOT NULL DEFAULT '',
    msisdn text,
    op text NOT NULL CHECK (op IN ('add', 'remove')),
    reason text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX devices_list_changes_operator ON devices_list_changes (operator_id, kind, version)`,
  `CREATE TABLE devices_list_current (
    operator_id uuid NOT NULL,
    kind text NOT NULL,
    imei14 char(14) NOT NULL,
    imsi text NOT NULL DEFAULT '',
    msisdn text,
    reason text NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (operator_id, kind, imei14, imsi)
  )`,
  `CREATE TABLE devices_trace_alerts (
    id uuid PRIMARY KEY,
    imei14 char(14) NOT NULL,
    police_org_id uuid,
    operator_id uuid NOT NULL,
    imsi text NOT NULL,
    msisdn text,
    seen_on date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (imei14, operator_id, imsi)
  )`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
