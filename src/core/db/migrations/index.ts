import type { Migration, MigrationProvider } from 'kysely';
import * as core from './20261130_0001_core.js';
import * as rateLimits from './20261130_0002_rate_limits.js';
import * as leases from './20261130_0003_leases.js';
import * as devices from './20261201_0001_devices.js';
import * as voice from './20261202_0001_voice.js';
import * as voiceRangeHolders from './20261202_0002_voice_range_holders.js';
import * as devicesTraceCase from './20261207_0001_devices_trace_case.js';
import * as devicesPendingClassification from './20261207_0002_devices_pending_classification.js';
import * as devicesPairingOwner from './20261207_0005_devices_pairing_owner.js';
import * as voiceStirSpcs from './20261207_0010_voice_stir_spcs.js';
import * as devicesNetworks from './20261207_0011_devices_networks.js';
import * as coreHousekeeping from './20261207_0020_core_housekeeping.js';
import * as coreImports from './20261207_0030_core_imports.js';

/** Every migration, by its timestamped name. Forward-only: never edit one that has shipped; add a new one. */
const migrations: Record<string, Migration> = {
  '20261130_0001_core': core,
  '20261130_0002_rate_limits': rateLimits,
  '20261130_0003_leases': leases,
  '20261201_0001_devices': devices,
  '20261202_0001_voice': voice,
  '20261202_0002_voice_range_holders': voiceRangeHolders,
  '20261207_0001_devices_trace_case': devicesTraceCase,
  '20261207_0002_devices_pending_classification': devicesPendingClassification,
  '20261207_0005_devices_pairing_owner': devicesPairingOwner,
  '20261207_0010_voice_stir_spcs': voiceStirSpcs,
  '20261207_0011_devices_networks': devicesNetworks,
  '20261207_0020_core_housekeeping': coreHousekeeping,
  '20261207_0030_core_imports': coreImports,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

export const migrationNames = Object.keys(migrations).sort();
