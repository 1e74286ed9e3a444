import type { Migration, MigrationProvider } from 'kysely';
import * as core from './20261130_0001_core.js';

/** Every migration, by its timestamped name. Forward-only: never edit one that has shipped; add a new one. */
const migrations: Record<string, Migration> = {
  '20261130_0001_core': core,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};

export const migrationNames = Object.keys(migrations).sort();
