import type { ColumnType, Generated } from 'kysely';
import type { DevicesTables } from '../../modules/devices/tables.js';
import type { VoiceTables } from '../../modules/voice/tables.js';
import type { NullableTimestamp, Timestamp } from './columns.js';

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

export type ImportStatus = 'running' | 'committed' | 'refused' | 'failed' | 'abandoned';

/** Every bulk import (core/ingest/tracking.ts); counts are bigint, read as strings. */
export interface CoreImportsTable {
  id: string;
  kind: string;
  org_id: string | null;
  actor_org_id: string | null;
  actor: string;
  status: ImportStatus;
  rows: ColumnType<string, number | undefined, number>;
  accepted: ColumnType<string, number | undefined, number>;
  rejected: ColumnType<string, number | undefined, number>;
  bytes: ColumnType<string, number | undefined, number>;
  refusal: string | null;
  errors: ColumnType<{ line: number; message: string }[], string | undefined, string>;
  started_at: Timestamp;
  updated_at: Timestamp;
  finished_at: NullableTimestamp;
}

/** Core's own tables: organisations, keys, users, audit, outbox and the shared machinery. */
export interface CoreTables {
  auth_organisations: AuthOrganisationsTable;
  auth_api_keys: AuthApiKeysTable;
  auth_users: AuthUsersTable;
  auth_sessions: AuthSessionsTable;
  audit_log: AuditLogTable;
  core_outbox: CoreOutboxTable;
  core_handled_events: CoreHandledEventsTable;
  core_rate_limits: CoreRateLimitsTable;
  core_leases: CoreLeasesTable;
  core_imports: CoreImportsTable;
}

/** The whole database: core's tables and every module's (each module declares its own in its tables.ts). */
export interface DB extends CoreTables, DevicesTables, VoiceTables {}
