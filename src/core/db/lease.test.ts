import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { releaseLease, takeLease } from './lease.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

describe('leases', () => {
  it('one holder at a time; renewable by its holder; taken over only after it expires or is released', async () => {
    const db = database.db;
    expect(await takeLease(db, 'job', 'a', 30)).toBe(true);
    expect(await takeLease(db, 'job', 'b', 30)).toBe(false);
    expect(await takeLease(db, 'job', 'a', 30)).toBe(true);
    await sql`update core_leases set until = now() - interval '1 second' where name = 'job'`.execute(db);
    expect(await takeLease(db, 'job', 'b', 30)).toBe(true);
    expect(await takeLease(db, 'job', 'a', 30)).toBe(false);
    await releaseLease(db, 'job', 'a');
    expect(await takeLease(db, 'job', 'a', 30)).toBe(false);
    await releaseLease(db, 'job', 'b');
    expect(await takeLease(db, 'job', 'a', 30)).toBe(true);
  });
});
