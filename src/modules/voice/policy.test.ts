import { describe, expect, it } from 'vitest';
import type { Principal } from '../../core/auth/principal.js';
import type { OrgKind } from '../../core/db/types.js';
import { voicePolicy } from './policy.js';

const key = (orgKind: OrgKind, orgId: string): Principal => ({ kind: 'apikey', id: `k-${orgId}`, label: orgId, orgId, orgKind, scopes: [] });
const regulator = key('regulator', 'reg');
const kcell = key('operator', 'kcell');
const beeline = key('operator', 'beeline');
const bank = key('bank', 'bank');
const staff: Principal = { kind: 'user', id: 'u1', label: 'staff', orgId: null, orgKind: null, scopes: ['*'] };
const orphanKey: Principal = { kind: 'apikey', id: 'k0', label: 'k0', orgId: null, orgKind: null, scopes: ['*'] };

describe('voice policy', () => {
  it('only operators and the regulator (or platform staff) work in voice', () => {
    expect([regulator, staff, kcell, bank, orphanKey].map(voicePolicy.actsInVoice)).toEqual([true, true, true, false, false]);
    expect(voicePolicy.screensFor(kcell)).toBe('kcell');
  });

  it('the default screening policy is the regulator’s; an operator reads and sets only its own', () => {
    expect(voicePolicy.screeningPolicy(kcell, '*')).toBe(false);
    expect(voicePolicy.screeningPolicy(kcell, 'beeline')).toBe(false);
    expect(voicePolicy.screeningPolicy(kcell, 'kcell')).toBe(true);
    expect(voicePolicy.screeningPolicy(bank, 'bank')).toBe(false);
    expect(voicePolicy.screeningPolicy(regulator, '*')).toBe(true);
    expect(voicePolicy.screeningPolicy(staff, 'beeline')).toBe(true);
  });

  it('range holders and the do-not-originate list are changed by the regulator only', () => {
    expect([regulator, staff, kcell, bank].map(voicePolicy.changeNationalData)).toEqual([true, true, false, false]);
  });

  it('roaming is reported by the number’s home operator, or the regulator for a number that has one', () => {
    expect(voicePolicy.reportRoaming(kcell, 'kcell')).toBe(true);
    expect(voicePolicy.reportRoaming(kcell, 'beeline')).toBe(false);
    expect(voicePolicy.reportRoaming(kcell, undefined)).toBe(false);
    expect(voicePolicy.reportRoaming(regulator, 'beeline')).toBe(true);
    expect(voicePolicy.reportRoaming(regulator, undefined)).toBe(false);
  });

  it('a port is recorded by the regulator, or by the operator holding the number now (never another’s)', () => {
    expect(voicePolicy.recordPort(regulator, undefined)).toBe(true);
    expect(voicePolicy.recordPort(kcell, 'kcell')).toBe(true);
    expect(voicePolicy.recordPort(kcell, 'beeline')).toBe(false);
    expect(voicePolicy.recordPort(kcell, undefined)).toBe(false);
    expect(voicePolicy.recordPort(key('bank', 'kcell'), 'kcell')).toBe(false);
  });

  it('trunks: an operator’s own, the regulator any; an operator claims no address another trunk holds', () => {
    expect(voicePolicy.visibleTrunks(regulator)).toBe('all');
    expect(voicePolicy.visibleTrunks(kcell)).toBe('kcell');
    expect(voicePolicy.manageTrunk(kcell, 'kcell')).toBe(true);
    expect(voicePolicy.manageTrunk(kcell, 'beeline')).toBe(false);
    expect(voicePolicy.manageTrunk(kcell, null)).toBe(false);
    expect(voicePolicy.manageTrunk(regulator, null)).toBe(true);
    expect(voicePolicy.trunkOperatorByDefault(kcell)).toBe('kcell');
    expect(voicePolicy.trunkOperatorByDefault(regulator)).toBeNull();
    const trunks = [
      { id: 'beeline-intl', operatorId: 'beeline', addresses: ['10.2.0.0/16', '2001:db8::/32'] },
      { id: 'kcell-old', operatorId: 'kcell', addresses: ['10.1.0.0/16'] },
      { id: 'shared', operatorId: null, addresses: ['192.0.2.10'] },
    ];
    expect(voicePolicy.addressConflicts(kcell, ['10.2.3.4'], trunks)).toEqual(['beeline-intl']);
    expect(voicePolicy.addressConflicts(kcell, ['10.0.0.0/8'], trunks)).toEqual(['beeline-intl']);
    expect(voicePolicy.addressConflicts(kcell, ['2001:DB8:0::7'], trunks)).toEqual(['beeline-intl']);
    expect(voicePolicy.addressConflicts(kcell, ['192.0.2.0/24'], trunks)).toEqual(['shared']);
    expect(voicePolicy.addressConflicts(kcell, ['10.1.2.3', '10.3.0.0/16', '192.0.2.11'], trunks)).toEqual([]);
    expect(voicePolicy.addressConflicts(regulator, ['10.2.3.4'], trunks)).toEqual([]);
  });

  it('trunks: an operator claims no source range wider than IPv4 /24 or IPv6 /48; the regulator any', () => {
    const claims = ['0.0.0.0/0', '::/0', '10.0.0.0/23', '10.0.0.0/24', '10.0.0.1', '2001:db8::/47', '2001:db8::/48', '2001:db8::1'];
    expect(voicePolicy.trunkRangesTooWide(kcell, claims)).toEqual(['0.0.0.0/0', '::/0', '10.0.0.0/23', '2001:db8::/47']);
    // IPv6 prefixes holding IPv4-mapped addresses count as the IPv4 range they hold: ::/48 and ::ffff:0:0/96 hold all of IPv4.
    expect(voicePolicy.trunkRangesTooWide(kcell, ['::/48', '::ffff:0:0/96', '::ffff:10.0.0.0/119', '::ffff:10.0.0.0/120', '::ffff:10.0.0.1'])).toEqual([
      '::/48',
      '::ffff:0:0/96',
      '::ffff:10.0.0.0/119',
    ]);
    expect(voicePolicy.trunkRangesTooWide(regulator, claims)).toEqual([]);
    expect(voicePolicy.trunkRangesTooWide(staff, ['0.0.0.0/0'])).toEqual([]);
    // An IPv4 address and its IPv4-mapped IPv6 form are one source.
    expect(voicePolicy.addressConflicts(kcell, ['::ffff:10.2.3.4'], [{ id: 'beeline-intl', operatorId: 'beeline', addresses: ['10.2.3.0/24'] }])).toEqual([
      'beeline-intl',
    ]);
  });

  it('statistics: its own for an operator, all for the regulator, none for other kinds', () => {
    expect(voicePolicy.statsScope(kcell)).toBe('kcell');
    expect(voicePolicy.statsScope(regulator)).toBe('all');
    expect(voicePolicy.statsScope(staff)).toBe('all');
    expect(voicePolicy.statsScope(bank)).toBeNull();
  });

  it('STIR: trust anchors are the regulator’s; certificates, credentials and signatures the owner’s own', () => {
    expect([regulator, staff, kcell].map(voicePolicy.manageTrustAnchors)).toEqual([true, true, false]);
    expect([kcell, beeline, regulator, staff, bank].map((p) => voicePolicy.uploadCertificateFor(p, 'kcell'))).toEqual([true, false, true, true, false]);
    const kcells = { operatorId: 'kcell', trustAnchor: false };
    const anchor = { operatorId: null, trustAnchor: true };
    expect(voicePolicy.revokeCertificate(kcell, kcells)).toBe(true);
    expect(voicePolicy.revokeCertificate(beeline, kcells)).toBe(false);
    expect(voicePolicy.revokeCertificate(regulator, kcells)).toBe(true);
    expect(voicePolicy.revokeCertificate(kcell, anchor)).toBe(false);
    expect(voicePolicy.revokeCertificate(regulator, anchor)).toBe(true);
    expect(voicePolicy.useCertificate(kcell, kcells)).toBe(true);
    expect(voicePolicy.useCertificate(beeline, kcells)).toBe(false);
    expect(voicePolicy.useCertificate(staff, anchor)).toBe(false);
    expect(voicePolicy.signsAs(beeline)).toBe('beeline');
  });
});
