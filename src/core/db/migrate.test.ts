import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { MigrationError, migrateToLatest, pendingMigrations } from './migrate.js';
import { migrationProvider } from './migrations/index.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

describe('migrations', () => {
  it('the test database is current and a second run applies nothing', async () => {
    expect(await pendingMigrations(database.db)).toEqual([]);
    expect(await migrateToLatest(database.db)).toEqual([]);
  });

  it('a failing migration stops with a clear message and leaves the database as it was', async () => {
    const provider = {
      getMigrations: async () => ({
        ...(await migrationProvider.getMigrations()),
        '29990101_0001_good': { up: async (db: never) => void (await sql`create table zz_good (id int)`.execute(db)) },
        '29990101_0002_bad': { up: async (db: never) => void (await sql`create table zz_bad (id no_such_type)`.execute(db)) },
      }),
    };
    const run = migrateToLatest(database.db, provider);
    await expect(run).rejects.toThrow(MigrationError);
    await expect(migrateToLatest(database.db, provider)).rejects.toThrow(/29990101_0002_bad failed, database left unchanged/);
    const tables = await sql<{ n: string }>`select count(*)::text as n from information_schema.tables where table_name in ('zz_good', 'zz_bad')`.execute(
      database.db,
    );
    expect(tables.rows[0]!.n).toBe('0');
    expect(await pendingMigrations(database.db)).toEqual([]);
  });
});
