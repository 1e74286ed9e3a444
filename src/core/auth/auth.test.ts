import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from './principal.js';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { waitFor } from '../../testing/wait.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('API keys', () => {
  it('401 problem for a missing, malformed or unknown key', async () => {
    for (const authorization of [undefined, 'Bearer nonsense', 'Basic abc', 'Bearer qk_0123456789_' + 'x'.repeat(43)]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: authorization ? { authorization } : {} });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['www-authenticate']).toContain('Bearer');
      expect(res.json()).toMatchObject({ status: 401, title: 'Unauthorized' });
    }
  });

  it('accepts a valid key and reports its organisation and scopes', async () => {
    const { authorization } = await t.keyWith(['devices:read']);
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'apikey', scopes: ['devices:read'] });
    expect(res.json().orgId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a forged key that shares a cached key’s prefix is refused', async () => {
    const { authorization } = await t.keyWith(['devices:read']);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization } })).statusCode).toBe(200);
    const last = authorization.at(-1) === 'A' ? 'B' : 'A';
    const forged = authorization.slice(0, -1) + last;
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: forged } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: authorization + 'x' } })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization } })).statusCode).toBe(200);
  });

  it('403 problem naming the scope a key lacks', async () => {
    const { authorization } = await t.keyWith(['devices:read']);
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: { authorization } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ status: 403, requiredScope: 'audit:read' });
  });

  it('the * scope grants every scope', async () => {
    const { authorization } = await t.keyWith(['*']);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: { authorization } })).statusCode).toBe(200);
  });

  it('a revoked key is refused at once', async () => {
    const admin = await t.keyWith(['admin:orgs']);
    const victim = await t.keyWith(['audit:read']);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: { authorization: victim.authorization } })).statusCode).toBe(200);
    const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${victim.keyId}`, headers: { authorization: admin.authorization } });
    expect(del.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: { authorization: victim.authorization } })).statusCode).toBe(401);
    const again = await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${victim.keyId}`, headers: { authorization: admin.authorization } });
    expect(again.statusCode).toBe(204);
    const missing = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/api-keys/00000000-0000-4000-8000-000000000000',
      headers: { authorization: admin.authorization },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('a key or user can be given only scopes the caller holds', async () => {
    const orgAdmin = await t.keyWith(['admin:orgs', 'devices:read']);
    const escalate = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/Test Regulator/api-keys',
      headers: { authorization: orgAdmin.authorization },
      payload: { scopes: ['*'] },
    });
    expect(escalate.statusCode).toBe(403);
    const wider = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/Test Regulator/api-keys',
      headers: { authorization: orgAdmin.authorization },
      payload: { scopes: ['audit:read'] },
    });
    expect(wider.statusCode).toBe(403);
    const narrower = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/Test Regulator/api-keys',
      headers: { authorization: orgAdmin.authorization },
      payload: { scopes: ['devices:read'] },
    });
    expect(narrower.statusCode).toBe(201);
    const userAdmin = await t.keyWith(['admin:users']);
    const makeAdmin = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { authorization: userAdmin.authorization },
      payload: { email: 'evil@example.kz', role: 'admin' },
    });
    expect(makeAdmin.statusCode).toBe(403);
  });

  it('stores only a hash of the key and records its last use', async () => {
    const { authorization, keyId } = await t.keyWith(['devices:read']);
    await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization } });
    // The last use is written without making the request wait.
    const stored = () => t.database.db.selectFrom('auth_api_keys').selectAll().where('id', '=', keyId).executeTakeFirstOrThrow();
    await waitFor('the key’s last use', async () => (await stored()).last_used_at !== null);
    const row = await stored();
    const key = authorization.slice('Bearer '.length);
    expect(JSON.stringify(row)).not.toContain(key.slice('qk_0123456789_'.length));
    expect(row.last_used_at).toBeInstanceOf(Date);
  });

  it('organisations and keys are managed over HTTP; the key is shown once', async () => {
    const { authorization } = await t.keyWith(['admin:orgs', 'devices:check']);
    const org = await t.app.inject({ method: 'POST', url: '/api/v1/orgs', headers: { authorization }, payload: { name: 'Kcell Test', kind: 'operator' } });
    expect(org.statusCode).toBe(201);
    const dup = await t.app.inject({ method: 'POST', url: '/api/v1/orgs', headers: { authorization }, payload: { name: 'Kcell Test', kind: 'operator' } });
    expect(dup.statusCode).toBe(409);
    const badScope = await t.app.inject({ method: 'POST', url: '/api/v1/orgs/Kcell Test/api-keys', headers: { authorization }, payload: { scopes: ['root'] } });
    expect(badScope.statusCode).toBe(400);
    expect(badScope.json().detail).toContain('root');
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/Kcell Test/api-keys',
      headers: { authorization },
      payload: { scopes: ['devices:check'], name: 'EIR' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().key).toMatch(/^qk_/);
    const list = await t.app.inject({ method: 'GET', url: `/api/v1/orgs/${org.json().id}/api-keys`, headers: { authorization } });
    expect(list.json().items).toHaveLength(1);
    expect(list.body).not.toContain(created.json().key);
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${created.json().key}` } });
    expect(me.json()).toMatchObject({ orgId: org.json().id, scopes: ['devices:check'] });
  });
});

describe('console users', () => {
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    await t.services.auth.createUser(systemContext('test'), { email: 'Analyst@Example.kz', role: 'analyst', password });
    await t.services.auth.createUser(systemContext('test'), { email: 'lock@example.kz', role: 'auditor', password });
  });

  const login = (email: string, pw: string, ip = '10.0.0.1') =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: pw }, remoteAddress: ip });

  it('signs in with argon2id, sets an HttpOnly SameSite cookie, and the session carries the role’s scopes', async () => {
    const stored = await t.database.db.selectFrom('auth_users').select('password_hash').where('email', '=', 'analyst@example.kz').executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^\$argon2id\$/);
    const res = await login('analyst@example.kz', password);
    expect(res.statusCode).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/qalqan_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const session = cookie.split(';')[0]!;
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: session } });
    expect(me.json()).toMatchObject({ kind: 'user', label: 'analyst@example.kz' });
    expect(me.json().scopes).toContain('intel:moderate');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: { cookie: session } })).statusCode).toBe(403);
    await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: session } });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: session } })).statusCode).toBe(401);
  });

  it('wrong password → 401; five failures lock the account even for the right password', async () => {
    for (let i = 0; i < 5; i++) expect((await login('lock@example.kz', 'wrong', `10.1.0.${i}`)).statusCode).toBe(401);
    const locked = await login('lock@example.kz', password, '10.1.1.1');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(locked.json().type).toContain('locked');
  });

  it('40 wrong passwords at once get only as many checks as the limit allows', async () => {
    await t.services.auth.createUser(systemContext('test'), { email: 'burst@example.kz', role: 'viewer', password });
    const codes = await Promise.all(Array.from({ length: 40 }, (_, i) => login('burst@example.kz', `wrong-${i}`, `10.2.${i}.1`).then((r) => r.statusCode)));
    expect(codes.filter((c) => c === 401)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(35);
    const checked = await t.database.db
      .selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'auth.login.failed')
      .where('subject', 'like', 'b%@example.kz')
      .execute();
    expect(checked).toHaveLength(5);
  });

  it('rate-limits sign-in attempts per IP', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await login('nobody@example.kz', 'x', '10.9.9.9')).statusCode);
    expect(codes.slice(0, 10).every((c) => c === 401)).toBe(true);
    expect(codes.at(-1)).toBe(429);
  });

  it('a one-time password only lets the user change it; afterwards the role’s scopes apply', async () => {
    const created = await t.services.auth.createUser(systemContext('test'), { email: 'new.admin@example.kz', role: 'admin' });
    const other = await login('new.admin@example.kz', created.oneTimePassword, '10.3.0.9');
    const otherCookie = String(other.headers['set-cookie']).split(';')[0]!;
    const first = await login('new.admin@example.kz', created.oneTimePassword, '10.3.0.1');
    expect(first.json().mustChangePassword).toBe(true);
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    const denied = await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: { cookie } });
    expect(denied.statusCode).toBe(403);
    const short = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: { cookie },
      payload: { currentPassword: created.oneTimePassword, newPassword: 'short' },
    });
    expect(short.statusCode).toBe(400);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: { cookie },
      payload: { currentPassword: 'not-it', newPassword: 'a much longer passphrase' },
    });
    expect(wrong.statusCode).toBe(401);
    const changed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: { cookie },
      payload: { currentPassword: created.oneTimePassword, newPassword: 'a much longer passphrase' },
    });
    expect(changed.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers: { cookie } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie: otherCookie } })).statusCode).toBe(401);
    expect((await login('new.admin@example.kz', created.oneTimePassword, '10.3.0.2')).statusCode).toBe(401);
  });

  it('an unknown e-mail and a wrong password look the same', async () => {
    const a = await login('ghost@example.kz', password, '10.2.0.1');
    const b = await login('analyst@example.kz', 'wrong', '10.2.0.2');
    expect(a.statusCode).toBe(401);
    expect(a.json().detail).toBe(b.json().detail);
  });
});
