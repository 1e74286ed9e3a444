import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../testing/app.js';
import { tenantKeys, type Tenant, type TenantKey } from '../../testing/tenants.js';
import { systemContext } from './principal.js';

/** Core's rows of the table in docs/api.md ("Who may do what"), each asked of an allowed and a refused caller. */

let t: TestApp;
let keys: Record<Tenant, TenantKey>;
beforeAll(async () => {
  t = await startTestApp();
  keys = await tenantKeys(t);
});
afterAll(() => t.close());

type Body = Record<string, unknown>;
const call = (who: Tenant, method: 'GET' | 'POST' | 'DELETE', url: string, body?: Body) =>
  t.app.inject({ method, url, headers: { authorization: keys[who].authorization }, ...(body ? { payload: body } : {}) });

describe('a key with * holds everything its kind may hold, never more', () => {
  it('an operator’s * key has no admin power over other organisations and no police or money scope', async () => {
    const me = (await call('kcell', 'GET', '/api/v1/auth/me')).json();
    expect(me.orgKind).toBe('operator');
    expect(me.scopes).toContain('devices:check');
    expect(me.scopes).not.toContain('devices:block');
    expect(me.scopes).not.toContain('money:read');
    expect(me.scopes).not.toContain('*');
  });

  it('a key is created only with scopes within the target organisation’s kind', async () => {
    const res = await call('regulator', 'POST', `/api/v1/orgs/${encodeURIComponent('Kcell')}/api-keys`, { scopes: ['devices:block'] });
    expect(res.statusCode).toBe(422);
    expect(res.json().scopesBeyondKind).toEqual(['devices:block']);
    expect((await call('regulator', 'POST', '/api/v1/orgs/Kcell/api-keys', { scopes: ['*'] })).statusCode).toBe(201);
  });
});

describe('organisations', () => {
  it('POST /api/v1/orgs: the regulator only', async () => {
    expect((await call('regulator', 'POST', '/api/v1/orgs', { name: 'Freedom Bank', kind: 'bank' })).statusCode).toBe(201);
    for (const who of ['kcell', 'police', 'bank', 'marketplace', 'isp'] as const) {
      expect((await call(who, 'POST', '/api/v1/orgs', { name: `Made by ${who}`, kind: 'regulator' })).statusCode).toBe(403);
    }
  });

  it('GET /api/v1/orgs: the regulator sees every organisation, anyone else only itself', async () => {
    expect((await call('regulator', 'GET', '/api/v1/orgs')).json().items.length).toBeGreaterThanOrEqual(8);
    const own = (await call('kcell', 'GET', '/api/v1/orgs')).json().items;
    expect(own.map((o: { name: string }) => o.name)).toEqual(['Kcell']);
  });
});

describe('API keys', () => {
  it('POST /api/v1/orgs/{org}/api-keys: the organisation itself or the regulator; never a key for another organisation', async () => {
    expect((await call('kcell', 'POST', '/api/v1/orgs/Kcell/api-keys', { scopes: ['devices:check'] })).statusCode).toBe(201);
    expect((await call('regulator', 'POST', '/api/v1/orgs/Beeline%20Kazakhstan/api-keys', { scopes: ['voice:screen'] })).statusCode).toBe(201);
    // The attack the issue found: Kcell made a * key for the regulator's organisation.
    expect((await call('kcell', 'POST', '/api/v1/orgs/Test%20Regulator/api-keys', { scopes: ['*'] })).statusCode).toBe(403);
    expect((await call('kcell', 'POST', '/api/v1/orgs/Beeline%20Kazakhstan/api-keys', { scopes: ['voice:screen'] })).statusCode).toBe(403);
    expect((await call('police', 'POST', '/api/v1/orgs/Police%20Almaty/api-keys', { scopes: ['devices:block'] })).statusCode).toBe(403);
  });

  it('GET /api/v1/orgs/{org}/api-keys: the organisation itself or the regulator', async () => {
    expect((await call('beeline', 'GET', '/api/v1/orgs/Beeline%20Kazakhstan/api-keys')).statusCode).toBe(200);
    expect((await call('regulator', 'GET', '/api/v1/orgs/Beeline%20Kazakhstan/api-keys')).statusCode).toBe(200);
    expect((await call('kcell', 'GET', '/api/v1/orgs/Beeline%20Kazakhstan/api-keys')).statusCode).toBe(403);
  });

  it('DELETE /api/v1/api-keys/{id}: the key’s organisation or the regulator; another’s key is not found', async () => {
    const make = async () => (await call('regulator', 'POST', '/api/v1/orgs/Beeline%20Kazakhstan/api-keys', { scopes: ['voice:screen'] })).json().id as string;
    const a = await make();
    expect((await call('kcell', 'DELETE', `/api/v1/api-keys/${a}`)).statusCode).toBe(404);
    expect((await call('beeline', 'DELETE', `/api/v1/api-keys/${a}`)).statusCode).toBe(204);
    expect((await call('regulator', 'DELETE', `/api/v1/api-keys/${await make()}`)).statusCode).toBe(204);
  });
});

describe('users and the audit log', () => {
  it('POST /api/v1/users: in the caller’s own organisation; the regulator anywhere', async () => {
    const own = await call('kcell', 'POST', '/api/v1/users', { email: 'noc@kcell.kz', role: 'viewer' });
    expect(own.statusCode).toBe(201);
    expect((await call('kcell', 'POST', '/api/v1/users', { email: 'x@beeline.kz', role: 'admin', org: 'Beeline Kazakhstan' })).statusCode).toBe(403);
    expect((await call('regulator', 'POST', '/api/v1/users', { email: 'analyst@beeline.kz', role: 'analyst', org: 'Beeline Kazakhstan' })).statusCode).toBe(
      201,
    );
    const made = await t.services.auth.createUser(systemContext('test'), {
      email: 'admin@kcell.kz',
      role: 'admin',
      org: 'Kcell',
      password: 'kcell-admin-password',
    });
    expect(made.role).toBe('admin');
  });

  it('a user’s role grants scopes only within the organisation’s kind', async () => {
    const login = await t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'admin@kcell.kz', password: 'kcell-admin-password' } });
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const me = (await t.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } })).json();
    expect(me).toMatchObject({ kind: 'user', orgKind: 'operator' });
    expect(me.scopes).not.toContain('*');
    expect(me.scopes).not.toContain('devices:block');
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/orgs', headers: { cookie }, payload: { name: 'Evil', kind: 'regulator' } })).statusCode).toBe(
      403,
    );
  });

  it('GET /api/v1/audit: the regulator reads every entry, another organisation only its own', async () => {
    const entries = async (who: Tenant, query = '') => (await call(who, 'GET', `/api/v1/audit?limit=200${query}`)).json().items as { orgId: string | null }[];
    const all = await entries('regulator');
    expect(all.some((e) => e.orgId === keys.beeline.orgId)).toBe(true);
    const kcells = await entries('kcell');
    expect(kcells.length).toBeGreaterThan(0);
    expect(kcells.every((e) => e.orgId === keys.kcell.orgId)).toBe(true);
    // Asking for another organisation's entries by filter gives nothing of theirs.
    const probe = await entries('kcell', `&orgId=${keys.beeline.orgId}`);
    expect(probe.every((e) => e.orgId === keys.kcell.orgId)).toBe(true);
  });

  it('GET /metrics: regulator and operator; kinds without metrics:read are refused', async () => {
    expect((await call('regulator', 'GET', '/metrics')).statusCode).toBe(200);
    expect((await call('kcell', 'GET', '/metrics')).statusCode).toBe(200);
    expect((await call('bank', 'GET', '/metrics')).statusCode).toBe(403);
    expect((await call('police', 'GET', '/metrics')).statusCode).toBe(403);
  });
});

describe('the table in docs/api.md', () => {
  it('has a row for every operation of /openapi.json', async () => {
    const doc = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Who may do what'), doc.indexOf('\n## ', doc.indexOf('## Who may do what') + 1));
    const documented = new Set<string>();
    for (const line of section.split('\n')) {
      const first = line.startsWith('| `') ? line.split(' | ')[0]! : '';
      for (const m of first.matchAll(/`(GET|POST|PUT|PATCH|DELETE) ([^`\s]+)`/g)) documented.add(`${m[1]} ${m[2]}`);
    }
    const spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    const missing = operations.filter((op) => !documented.has(op) && !op.includes(' /docs'));
    expect(missing).toEqual([]);
  });
});
