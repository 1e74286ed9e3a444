import { expect } from 'vitest';
import type { OrgKind } from '../core/db/types.js';
import type { TestApp } from './app.js';

/** Organisations of every kind, two of the kinds that own data (to probe one tenant acting on another's). */
export const TENANTS = {
  regulator: { name: 'Test Regulator', kind: 'regulator' },
  kcell: { name: 'Kcell', kind: 'operator' },
  beeline: { name: 'Beeline Kazakhstan', kind: 'operator' },
  police: { name: 'Police Cyber Unit', kind: 'police' },
  police2: { name: 'Police Almaty', kind: 'police' },
  bank: { name: 'Kaspi Bank', kind: 'bank' },
  marketplace: { name: 'OLX Kazakhstan', kind: 'marketplace' },
  isp: { name: 'Kazakhtelecom ISP', kind: 'isp' },
} as const satisfies Record<string, { name: string; kind: OrgKind }>;

export type Tenant = keyof typeof TENANTS;

export interface TenantKey {
  name: string;
  kind: OrgKind;
  orgId: string;
  /** `Authorization` header value of a key with `*`: everything the organisation's kind may hold. */
  authorization: string;
}

/** A `*` key for each tenant: what the strongest key of that organisation can do. */
export async function tenantKeys(t: TestApp): Promise<Record<Tenant, TenantKey>> {
  const keys = {} as Record<Tenant, TenantKey>;
  for (const [tenant, { name, kind }] of Object.entries(TENANTS) as [Tenant, (typeof TENANTS)[Tenant]][]) {
    const key = await t.keyWith(['*'], name, kind);
    keys[tenant] = { name, kind, orgId: key.orgId, authorization: key.authorization };
  }
  return keys;
}

/** One request of an authorisation test: a JSON body, or a CSV upload. */
export interface TenantCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  body?: unknown;
  csv?: string;
}

/**
 * Asks a route as a tenant, and the two expectations every row of docs/api.md's table is tested with: allowed (not
 * 401/403, optionally an exact status) and refused (403, or 404 where the record is not the caller's to know of).
 * `state` is read at call time (the app and keys are made in `beforeAll`).
 */
export function tenantCalls(state: () => { app: TestApp['app']; keys: Record<Tenant, TenantKey> }) {
  function ask(who: Tenant, c: TenantCall) {
    const { app, keys } = state();
    const headers: Record<string, string> = { authorization: keys[who].authorization };
    if (c.csv !== undefined) headers['content-type'] = 'text/csv';
    return app.inject({
      method: c.method,
      url: c.url,
      headers,
      ...(c.csv !== undefined ? { payload: c.csv } : c.body !== undefined ? { payload: c.body as Record<string, unknown> } : {}),
    });
  }

  async function expectAllowed(who: Tenant, c: TenantCall, status?: number) {
    const res = await ask(who, c);
    const what = `${who} ${c.method} ${c.url}: ${res.body}`;
    expect(res.statusCode, what).not.toBe(401);
    expect(res.statusCode, what).not.toBe(403);
    if (status !== undefined) expect(res.statusCode, what).toBe(status);
    return res;
  }

  async function expectRefused(who: Tenant, c: TenantCall, status: 403 | 404 = 403) {
    const res = await ask(who, c);
    expect(res.statusCode, `${who} ${c.method} ${c.url}: ${res.body}`).toBe(status);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    return res;
  }

  return { ask, expectAllowed, expectRefused };
}
