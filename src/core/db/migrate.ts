import { Migrator, type Kysely, type MigrationProvider } from 'kysely';
import { migrationNames, migrationProvider } from './migrations/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on any schema
type AnyDb = Kysely<any>;

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Applies every pending migration in one transaction (PostgreSQL DDL is transactional), so a failure leaves the
 * database exactly as it was. Kysely's migrator also takes an advisory lock, so several instances can start at once.
 */
export async function migrateToLatest(db: AnyDb, provider: MigrationProvider = migrationProvider): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`migration ${failed} failed, database left unchanged: ${reason}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations this build knows that the database has not applied yet. */
export async function pendingMigrations(db: AnyDb): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const applied = new Set((await migrator.getMigrations()).filter((m) => m.executedAt).map((m) => m.name));
  return migrationNames.filter((name) => !applied.has(name));
}
