import { describe, expect, it } from 'vitest';
import type { OrgKind } from '../db/types.js';
import { actsFor, authPolicy, isRegulator } from './policy.js';
import type { Principal } from './principal.js';
import { KIND_SCOPES, SCOPES, beyondCeiling, canGrant, effectiveScopes } from './scopes.js';

const key = (orgKind: OrgKind, orgId = `org-${orgKind}`): Principal => ({ kind: 'apikey', id: 'k', label: 'k', orgId, orgKind, scopes: ['*'] });
const staff: Principal = { kind: 'user', id: 'u', label: 'staff', orgId: null, orgKind: null, scopes: ['*'] };

describe('who acts for whom', () => {
  it('the regulator, platform staff and the system regulate; every other kind acts only for itself', () => {
    expect(isRegulator(key('regulator'))).toBe(true);
    expect(isRegulator(staff)).toBe(true);
    for (const kind of ['operator', 'bank', 'marketplace', 'isp', 'police'] as const) {
      expect(isRegulator(key(kind))).toBe(false);
      expect(actsFor(key(kind), `org-${kind}`)).toBe(true);
      expect(actsFor(key(kind), 'org-other')).toBe(false);
      expect(actsFor(key(kind), null)).toBe(false);
    }
    expect(actsFor(key('regulator'), 'org-other')).toBe(true);
  });

  it('an API key never regulates by having no organisation kind', () => {
    expect(isRegulator({ ...key('operator'), orgKind: null })).toBe(false);
  });

  it('administration: organisations by the regulator; keys, users and audit entries of one’s own organisation', () => {
    expect(authPolicy.createOrg(key('operator'))).toBe(false);
    expect(authPolicy.createOrg(key('regulator'))).toBe(true);
    expect(authPolicy.visibleOrgs(key('bank', 'b1'))).toBe('b1');
    expect(authPolicy.visibleOrgs(staff)).toBe('all');
    expect(authPolicy.manageKeys(key('operator', 'kcell'), 'beeline')).toBe(false);
    expect(authPolicy.manageKeys(key('operator', 'kcell'), 'kcell')).toBe(true);
    expect(authPolicy.createUser(key('police', 'p1'), null)).toBe(false);
    expect(authPolicy.auditScope(key('isp', 'i1'))).toBe('i1');
    expect(authPolicy.auditScope(key('regulator'))).toBe('all');
  });
});

describe('the ceiling of each kind', () => {
  it('* is everything the kind may hold, never more', () => {
    expect(effectiveScopes(['*'], 'operator')).toEqual(KIND_SCOPES.operator);
    expect(effectiveScopes(['*'], 'operator')).not.toContain('devices:block');
    expect(effectiveScopes(['*'], 'police')).toContain('devices:block');
    expect(effectiveScopes(['*'], 'regulator')).toEqual(SCOPES);
    expect(effectiveScopes(['*'], null)).toEqual(['*']);
  });

  it('scopes given beyond the ceiling are not held, and are named when asked for', () => {
    expect(effectiveScopes(['devices:check', 'money:write'], 'operator')).toEqual(['devices:check']);
    expect(beyondCeiling(['devices:check', 'money:write', '*'], 'operator')).toEqual(['money:write']);
    expect(beyondCeiling(['money:write'], 'bank')).toEqual([]);
  });

  it('a caller grants only what it holds; * for a kind only when it holds the whole of that kind’s ceiling', () => {
    expect(canGrant(['devices:check'], ['devices:check'])).toBe(true);
    expect(canGrant(['devices:check'], ['devices:write'])).toBe(false);
    expect(canGrant(KIND_SCOPES.operator, ['*'], 'operator')).toBe(true);
    expect(canGrant(KIND_SCOPES.operator, ['*'], 'police')).toBe(false);
    expect(canGrant(['*'], ['*'], 'regulator')).toBe(true);
  });
});
