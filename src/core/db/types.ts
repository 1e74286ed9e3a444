import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type OrgKind = 'regulator' | 'operator' | 'bank' | 'marketplace' | 'isp' | 'police';

export interface AuthOrganisationsTable {
  id: string;
  name: string;
  kind: OrgKind;
  created_at: Timestamp;
}

export interface AuthApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  scopes: string[];
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface AuthUsersTable {
  id: string;
  email: string;
  org_id: string | null;
  role: string;
  password_hash: string;
  must_change_password: boolean;
  failed_logins: Generated<number>;
  locked_until: NullableTimestamp;
  created_at: Timestamp;
}

export interface AuthSessionsTable {
  id_hash: string;
  user_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Timestamp;
  actor: string;
  org_id: string | null;
  action: string;
  subject_type: string | null;
  subject: string | null;
  request_id: string | null;
  ip: string | null;
  detail: ColumnType<Record<string, unknown> | null, string | null | undefined, never>;
}

export interface CoreOutboxTable {
  seq: Generated<string>;
  id: string;
  topic: string;
  payload: ColumnType<Record<string, unknown>, string, never>;
  created_at: Timestamp;
  published_at: NullableTimestamp;
  published_seq: string | null;
}

export interface CoreHandledEventsTable {
  consumer: string;
  event_id: string;
  handled_at: Timestamp;
}

export interface CoreLeasesTable {
  name: string;
  holder: string;
  until: Timestamp;
}

export interface CoreRateLimitsTable {
  key: string;
  count: number;
  window_end: Timestamp;
}

type DateOnly = ColumnType<string, string, string>;

export interface DevicesTacTable {
  tac: string;
  manufacturer: string;
  model_name: string;
  bands: string | null;
  allocation_date: string | null;
  device_type: string | null;
  updated_at: Timestamp;
}

export type RegistrationSource = 'importer' | 'individual' | 'service_centre' | 'grandfathered';

export interface DevicesRegistrationsTable {
  imei14: string;
  imei: string;
  source: RegistrationSource;
  reference: string | null;
  org_id: string | null;
  registered_at: Timestamp;
}

export interface DevicesStolenTable {
  imei14: string;
  case_number: string;
  source: string;
  org_id: string | null;
  blocked_at: Timestamp;
}

export interface DevicesStolenHistoryTable {
  id: Generated<string>;
  imei14: string;
  action: 'block' | 'unblock';
  case_number: string | null;
  source: string;
  org_id: string | null;
  at: Timestamp;
}

export interface DevicesOrdersTable {
  imei14: string;
  order_ref: string;
  created_at: Timestamp;
}

export interface DevicesObservationsTable {
  imei14: string;
  imsi: string;
  operator_id: string;
  msisdn: string | null;
  rat: string | null;
  first_seen: DateOnly;
  last_seen: DateOnly;
}

export interface DevicesPairingsTable {
  imei14: string;
  imsi: string;
  /** The organisation that made the pairing; null for pairings older than the column (the regulator's to remove). */
  org_id: string | null;
  created_at: Timestamp;
}

/** The operator organisation holding a mobile network (MCC + MNC). */
export interface DevicesNetworksTable {
  /** MCC + MNC, e.g. `40102`: 5 digits, or 6 where the MCC's networks have 3-digit MNCs. */
  plmn: string;
  operator_id: string;
  updated_at: Generated<Date>;
}

export type ConditionName = 'malformed' | 'tac_unknown' | 'not_registered' | 'stolen' | 'duplicate' | 'blocked_by_order';

export interface DevicesConditionsTable {
  name: ConditionName;
  blocking: boolean;
  grace_days: number;
  sticky: boolean;
  enabled: boolean;
  params: ColumnType<Record<string, unknown>, string, string>;
}

export type DeviceStatus = 'white' | 'grey' | 'black';

export interface DevicesClassificationTable {
  imei14: string;
  status: DeviceStatus;
  reasons: string[];
  first_flagged: DateOnly | null;
  deadline: DateOnly | null;
  updated_at: Timestamp;
}

export interface DevicesClassificationPendingTable {
  imei14: string;
  mark: Generated<string>;
}

export type ListKind = 'black' | 'notification' | 'exception';

export interface DevicesListChangesTable {
  version: Generated<string>;
  operator_id: string;
  kind: ListKind;
  imei14: string;
  imsi: string;
  msisdn: string | null;
  op: 'add' | 'remove';
  reason: string;
  created_at: Timestamp;
}

export interface DevicesListCurrentTable {
  operator_id: string;
  kind: ListKind;
  imei14: string;
  imsi: string;
  msisdn: string | null;
  reason: string;
  version: string;
}

export interface DevicesTraceAlertsTable {
  id: string;
  imei14: string;
  police_org_id: string | null;
  operator_id: string;
  imsi: string;
  msisdn: string | null;
  seen_on: DateOnly;
  case_number: string | null;
  created_at: Timestamp;
}

export interface VoicePortedTable {
  msisdn: string;
  operator_id: string;
  ported_at: Timestamp;
  updated_at: Generated<Date>;
}

export interface VoiceDnoTable {
  msisdn: string;
  label: string;
  added_by: string | null;
  added_at: Generated<Date>;
}

export interface VoiceRoamingTable {
  msisdn: string;
  operator_id: string;
  country: string | null;
  expires_at: Timestamp;
  updated_at: Generated<Date>;
}

export interface VoiceBlocklistTable {
  msisdn: string;
  source: string;
  reference: string | null;
  added_at: Generated<Date>;
}

export interface VoicePoliciesTable {
  /** An operator organisation's id, or `*` for the default policy. */
  operator_id: string;
  block_reasons: ColumnType<string[], string, string>;
  flag_reasons: ColumnType<string[], string, string>;
  enabled: boolean;
  updated_at: Generated<Date>;
}

export interface VoiceTrunksTable {
  id: string;
  name: string;
  operator_id: string | null;
  addresses: ColumnType<string[], string, string>;
  ingress: 'international' | 'domestic';
  updated_at: Generated<Date>;
}

export interface VoiceStatsDailyTable {
  day: DateOnly;
  operator_id: string;
  verdict: string;
  reason: string;
  calls: ColumnType<string, number | string, number | string>;
}

export interface VoiceStirCertificatesTable {
  id: string;
  operator_id: string | null;
  x5u: string;
  pem: string;
  fingerprint: string;
  subject: string;
  trust_anchor: boolean;
  not_before: Timestamp;
  not_after: Timestamp;
  revoked_at: NullableTimestamp;
  created_at: Generated<Date>;
}

export interface VoiceStirCredentialsTable {
  operator_id: string;
  certificate_id: string;
  private_key_enc: string;
  created_at: Generated<Date>;
}

export interface VoiceStirSpcsTable {
  /** Service provider code as a certificate's TNAuthList names it, upper-cased. */
  spc: string;
  operator_id: string;
  updated_at: Generated<Date>;
}

export interface VoiceStirRepositoriesTable {
  /** Host (and port when not 443) of an operator's certificate repository, lower-cased. */
  host: string;
  created_at: Generated<Date>;
}

export interface VoiceRangeHoldersTable {
  /** National significant number prefix, e.g. `701`. */
  prefix: string;
  operator_id: string;
  updated_at: Generated<Date>;
}

export interface DB {
  auth_organisations: AuthOrganisationsTable;
  auth_api_keys: AuthApiKeysTable;
  auth_users: AuthUsersTable;
  auth_sessions: AuthSessionsTable;
  audit_log: AuditLogTable;
  core_outbox: CoreOutboxTable;
  core_handled_events: CoreHandledEventsTable;
  core_rate_limits: CoreRateLimitsTable;
  core_leases: CoreLeasesTable;
  devices_tac: DevicesTacTable;
  devices_registrations: DevicesRegistrationsTable;
  devices_stolen: DevicesStolenTable;
  devices_stolen_history: DevicesStolenHistoryTable;
  devices_orders: DevicesOrdersTable;
  devices_observations: DevicesObservationsTable;
  devices_pairings: DevicesPairingsTable;
  devices_networks: DevicesNetworksTable;
  devices_conditions: DevicesConditionsTable;
  devices_classification: DevicesClassificationTable;
  devices_classification_pending: DevicesClassificationPendingTable;
  devices_list_changes: DevicesListChangesTable;
  devices_list_current: DevicesListCurrentTable;
  devices_trace_alerts: DevicesTraceAlertsTable;
  voice_ported: VoicePortedTable;
  voice_dno: VoiceDnoTable;
  voice_roaming: VoiceRoamingTable;
  voice_blocklist: VoiceBlocklistTable;
  voice_policies: VoicePoliciesTable;
  voice_trunks: VoiceTrunksTable;
  voice_stats_daily: VoiceStatsDailyTable;
  voice_stir_certificates: VoiceStirCertificatesTable;
  voice_stir_credentials: VoiceStirCredentialsTable;
  voice_stir_spcs: VoiceStirSpcsTable;
  voice_stir_repositories: VoiceStirRepositoriesTable;
  voice_range_holders: VoiceRangeHoldersTable;
}
