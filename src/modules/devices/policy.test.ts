import { describe, expect, it } from 'vitest';
import type { Principal } from '../../core/auth/principal.js';
import type { OrgKind } from '../../core/db/types.js';
import { devicesPolicy as policy, sees } from './policy.js';

const key = (orgId: string, orgKind: OrgKind): Principal => ({ kind: 'apikey', id: `key-${orgId}`, label: orgId, orgId, orgKind, scopes: ['*'] });

const regulator = key('reg', 'regulator');
const kcell = key('kcell', 'operator');
const beeline = key('beeline', 'operator');
const police = key('police', 'police');
const police2 = key('police2', 'police');
const bank = key('bank', 'bank');
const staff: Principal = { kind: 'user', id: 'u1', label: 'staff@qalqan', orgId: null, orgKind: null, scopes: ['*'] };
const system: Principal = { kind: 'system', id: 'system', label: 'cli', orgId: null, orgKind: null, scopes: ['*'] };
const orphanKey: Principal = { kind: 'apikey', id: 'k', label: 'k', orgId: null, orgKind: null, scopes: ['*'] };

describe('devices policy', () => {
  it('national reference data (TAC database, conditions, orders, imported stolen lists) is the regulator’s', () => {
    for (const p of [regulator, staff, system]) expect(policy.nationalData(p)).toBe(true);
    for (const p of [kcell, police, bank, orphanKey]) expect(policy.nationalData(p)).toBe(false);
  });

  it('operators register their subscribers’ devices; importer and grandfathered registrations are the regulator’s', () => {
    expect(policy.register(kcell, 'individual')).toBe(true);
    expect(policy.register(kcell, 'service_centre')).toBe(true);
    expect(policy.register(kcell, 'importer')).toBe(false);
    expect(policy.register(kcell, 'grandfathered')).toBe(false);
    expect(policy.register(regulator, 'importer')).toBe(true);
    expect(policy.register(regulator, 'grandfathered')).toBe(true);
    expect(policy.register(police, 'individual')).toBe(false);
    expect(policy.importRegistrations(regulator)).toBe(true);
    expect(policy.importRegistrations(kcell)).toBe(false);
  });

  it('a block’s source comes from the caller’s kind; only police and the regulator block', () => {
    expect(policy.blockSource(police)).toBe('police');
    expect(policy.blockSource(regulator)).toBe('regulator');
    expect(policy.blockSource(staff)).toBe('regulator');
    expect(policy.blockSource(kcell)).toBeNull();
    expect(policy.blockSource(bank)).toBeNull();
  });

  it('a block is lifted by the organisation that made it or the regulator', () => {
    expect(policy.unblock(police, { orgId: 'police' })).toBe(true);
    expect(policy.unblock(police2, { orgId: 'police' })).toBe(false);
    expect(policy.unblock(regulator, { orgId: 'police' })).toBe(true);
    expect(policy.unblock(police, { orgId: null })).toBe(false);
    expect(policy.unblock(regulator, { orgId: null })).toBe(true);
    expect(policy.unblock(kcell, { orgId: 'kcell' })).toBe(true);
    expect(policy.seesBlock(police, { orgId: 'police' })).toBe(true);
    expect(policy.seesBlock(police2, { orgId: 'police' })).toBe(false);
    expect(policy.seesBlock(regulator, { orgId: 'police' })).toBe(true);
  });

  it('an operator acts for its own network only; the regulator for any operator, never for another kind', () => {
    expect(policy.actsForOperator(kcell, { id: 'kcell', kind: 'operator' })).toBe(true);
    expect(policy.actsForOperator(kcell, { id: 'beeline', kind: 'operator' })).toBe(false);
    expect(policy.actsForOperator(regulator, { id: 'beeline', kind: 'operator' })).toBe(true);
    expect(policy.actsForOperator(regulator, { id: 'police', kind: 'police' })).toBe(false);
    expect(policy.actsForOperator(police, { id: 'police', kind: 'police' })).toBe(false);
    expect(policy.defaultOperator(kcell)).toBe('kcell');
    expect(policy.defaultOperator(regulator)).toBeNull();
    expect(policy.defaultOperator(police)).toBeNull();
    expect(policy.anyOperator(regulator)).toBe(true);
    expect(policy.anyOperator(system)).toBe(true);
    expect(policy.anyOperator(kcell)).toBe(false);
    expect(policy.anyOperator(police)).toBe(false);
  });

  it('trace alerts: police see their own, the regulator all, nobody else any', () => {
    expect(sees(policy.traceAlerts(police), 'police')).toBe(true);
    expect(sees(policy.traceAlerts(police2), 'police')).toBe(false);
    expect(sees(policy.traceAlerts(regulator), 'police')).toBe(true);
    expect(policy.traceAlerts(kcell)).toBeNull();
    expect(policy.traceAlerts(bank)).toBeNull();
  });

  it('an operator pairs IMSIs of its own networks; the regulator any, even of a network no one holds (issue 10)', () => {
    expect(policy.addPairing(kcell, 'kcell')).toBe('allowed');
    expect(policy.addPairing(kcell, 'beeline')).toBe('forbidden');
    expect(policy.addPairing(kcell, null)).toBe('unknown_network');
    for (const p of [regulator, staff, system]) {
      expect(policy.addPairing(p, 'beeline')).toBe('allowed');
      expect(policy.addPairing(p, null)).toBe('allowed');
    }
    for (const p of [police, bank, orphanKey]) {
      expect(policy.addPairing(p, 'kcell')).toBe('forbidden');
      expect(policy.addPairing(p, null)).toBe('forbidden');
    }
    expect(policy.addPairing({ ...police, orgId: 'kcell' }, 'kcell')).toBe('forbidden');
  });

  it('a pairing is removed by the one that made it or the regulator', () => {
    expect(policy.removePairing(kcell, { orgId: 'kcell' })).toBe(true);
    expect(policy.removePairing(beeline, { orgId: 'kcell' })).toBe(false);
    expect(policy.removePairing(regulator, { orgId: 'kcell' })).toBe(true);
    expect(policy.removePairing(kcell, { orgId: null })).toBe(false);
  });

  it('observation statistics: the regulator sees every operator, others only their own', () => {
    expect(sees(policy.observationStats(regulator), 'beeline')).toBe(true);
    expect(sees(policy.observationStats(kcell), 'kcell')).toBe(true);
    expect(sees(policy.observationStats(kcell), 'beeline')).toBe(false);
    expect(sees(policy.observationStats(orphanKey), 'kcell')).toBe(false);
  });
});
