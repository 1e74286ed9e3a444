import type { ColumnType, Generated } from 'kysely';
import type { DateOnly, NullableTimestamp, Timestamp } from '../../core/db/columns.js';

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

/** The voice module's tables (composed into the database type by core/db). */
export interface VoiceTables {
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
