import type { ColumnType, Generated, Kysely } from 'kysely';
import type { DateOnly, Timestamp } from '../../core/db/columns.js';

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

/** The devices module's tables (composed into the database type by core/db). */
export interface DevicesTables {
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
}

/** The database as this module's repositories see it: its own tables only. */
export type DevicesDb = Kysely<DevicesTables>;
