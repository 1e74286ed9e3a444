import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { databaseRateLimitStore } from './rate-limit-store.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.close());

function incr(
  store: { incr(key: string, cb: (err: Error | null, r?: { current: number; ttl: number }) => void, timeWindow?: number): void },
  key: string,
  windowMs: number,
) {
  return new Promise<{ current: number; ttl: number }>((resolve, reject) => store.incr(key, (err, r) => (err ? reject(err) : resolve(r!)), windowMs));
}

describe('database rate-limit store', () => {
  it('two instances count the same client together, per route', async () => {
    const route = { routeInfo: { method: 'GET', url: '/api/v1/public/x' } };
    const a = new (databaseRateLimitStore(database.db))({}).child(route);
    const b = new (databaseRateLimitStore(database.db))({}).child(route);
    const other = new (databaseRateLimitStore(database.db))({}).child({ routeInfo: { method: 'GET', url: '/other' } });
    expect((await incr(a, '10.0.0.1', 60_000)).current).toBe(1);
    expect((await incr(b, '10.0.0.1', 60_000)).current).toBe(2);
    const third = await incr(a, '10.0.0.1', 60_000);
    expect(third.current).toBe(3);
    expect(third.ttl).toBeGreaterThan(50_000);
    expect(third.ttl).toBeLessThanOrEqual(60_000);
    expect((await incr(other, '10.0.0.1', 60_000)).current).toBe(1);
    expect((await incr(a, '10.0.0.2', 60_000)).current).toBe(1);
  });

  it('starts a new window when the old one has passed', async () => {
    const store = new (databaseRateLimitStore(database.db))({}).child({ routeInfo: { method: 'GET', url: '/w' } });
    expect((await incr(store, 'k', 50)).current).toBe(1);
    expect((await incr(store, 'k', 50)).current).toBe(2);
    await new Promise((r) => setTimeout(r, 120));
    expect((await incr(store, 'k', 50)).current).toBe(1);
  });
});
