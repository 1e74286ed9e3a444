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
