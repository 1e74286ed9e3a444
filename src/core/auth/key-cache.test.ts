import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { waitFor } from '../../testing/wait.js';

/**
 * The API-key cache answers a verified key from memory; once its entry is older than 5 s it is read again in the
 * background while the cached key is still answered (for up to a minute more), so a busy database never stalls
 * every keyed request. Revocation on this instance is immediate.
 */

let t: TestApp;
let now = new Date('2027-03-01T09:00:00Z');
const later = (ms: number) => (now = new Date(now.getTime() + ms));

beforeAll(async () => {
  t = await startTestApp({ clock: () => now });
});
afterAll(() => t.close());

async function cachedKey() {
  const { authorization, keyId } = await t.keyWith(['devices:read'], 'Kcell', 'operator');
  const token = authorization.slice('Bearer '.length);
  expect(await t.services.auth.authenticateApiKey(token)).toMatchObject({ id: keyId });
  return { token, keyId };
}

describe('API-key cache', () => {
  it('answers an expired entry from memory while it reads the key again, and then sees a revocation made elsewhere', async () => {
    const { token, keyId } = await cachedKey();
    // Revoked by another instance (straight in the database; this instance heard no event).
    await t.database.db.updateTable('auth_api_keys').set({ revoked_at: now }).where('id', '=', keyId).execute();
    later(6_000);
    expect(t.services.auth.cachedApiKey(token)).toMatchObject({ id: keyId });
    await waitFor('the background re-read', () => t.services.auth.cachedApiKey(token) === null);
    expect(await t.services.auth.authenticateApiKey(token)).toBeNull();
  });

  it('past the stale window the cache does not answer: the key is read before the request goes on', async () => {
    const { token, keyId } = await cachedKey();
    later(5_000 + 60_001);
    expect(t.services.auth.cachedApiKey(token)).toBeUndefined();
    expect(await t.services.auth.authenticateApiKey(token)).toMatchObject({ id: keyId });
    expect(t.services.auth.cachedApiKey(token)).toMatchObject({ id: keyId });
  });

  it('past the stale window, still answers while the re-read waits for a busy database (a long import), then reads it', async () => {
    const { token, keyId } = await cachedKey();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const busy = t.database.db.transaction().execute(async (trx) => {
      await sql`lock table auth_api_keys in access exclusive mode`.execute(trx);
      locked();
      await gate;
    });
    await isLocked;
    later(6_000);
    expect(t.services.auth.cachedApiKey(token)).toMatchObject({ id: keyId });
    later(60_001);
    expect(t.services.auth.cachedApiKey(token)).toMatchObject({ id: keyId });
    later(15 * 60_000);
    expect(t.services.auth.cachedApiKey(token)).toBeUndefined();
    release();
    await busy;
    expect(await t.services.auth.authenticateApiKey(token)).toMatchObject({ id: keyId });
  });

  it('records a key’s last use without making the request wait, and revocation here is immediate', async () => {
    const { token, keyId } = await cachedKey();
    later(61_000);
    expect(t.services.auth.cachedApiKey(token)).toMatchObject({ id: keyId });
    const lastUsed = async () =>
      (await t.database.db.selectFrom('auth_api_keys').select('last_used_at').where('id', '=', keyId).executeTakeFirstOrThrow()).last_used_at?.toISOString();
    await waitFor('the key’s last use', async () => (await lastUsed()) === now.toISOString());
    const admin = await t.keyWith(['admin:orgs']);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${keyId}`, headers: { authorization: admin.authorization } })).statusCode).toBe(204);
    expect(t.services.auth.cachedApiKey(token)).toBeUndefined();
    expect(await t.services.auth.authenticateApiKey(token)).toBeNull();
  });

  it('a re-read that overlaps a revocation does not bring the revoked key back', async () => {
    const { token, keyId } = await cachedKey();
    later(5_000 + 60_001);
    // The re-read is under way when the key is revoked and the revocation's event arrives. PGlite runs statements in
    // order, so the event can be heard while the re-read waits and the revocation still commits before the re-read
    // after it; on PostgreSQL the event comes after the commit, as in production.
    const answer = t.services.auth.authenticateApiKey(token);
    const revoked = t.database.db.updateTable('auth_api_keys').set({ revoked_at: now }).where('id', '=', keyId).execute();
    if (t.services.database.kind === 'postgres') await revoked;
    t.services.auth.forgetKey(token.slice(3, 13));
    await revoked;
    await answer;
    expect(await t.services.auth.authenticateApiKey(token)).toBeNull();
  });
});
