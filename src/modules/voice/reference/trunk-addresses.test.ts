import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressMatcher } from '../../../core/net.js';
import { addressValue, familyLength, longestPrefixMatcher, prefixesOverlap, toPrefix, type Prefix } from './trunk-addresses.js';

const prefix = (entry: string): Prefix => {
  const p = toPrefix(entry);
  if (!p) throw new Error(entry);
  return p;
};

describe('trunk addresses', () => {
  it('reads IPv4, IPv6 in any notation and IPv4-mapped IPv6 into one space', () => {
    expect(addressValue('10.0.0.1')).toBe(addressValue('::ffff:10.0.0.1'));
    expect(addressValue('::ffff:a00:1')).toBe(addressValue('10.0.0.1'));
    expect(addressValue('2001:DB8:0:0::1')).toBe(addressValue('2001:db8::0:1'));
    expect(addressValue('::')).toBe(0n);
    expect(addressValue('fe80::1%eth0')).toBe(addressValue('fe80::1'));
    expect(addressValue('not-an-ip')).toBeUndefined();
    expect(prefix('10.0.0.0/24')).toEqual(prefix('::ffff:10.0.0.0/120'));
    expect(prefix('10.1.2.3/8')).toEqual(prefix('10.0.0.0/8'));
    expect(toPrefix('10.0.0.0/40')).toBeUndefined();
  });

  it('knows the family a prefix holds addresses of', () => {
    expect(familyLength(prefix('10.0.0.0/24'))).toEqual({ family: 4, bits: 24 });
    expect(familyLength(prefix('2001:db8::/48'))).toEqual({ family: 6, bits: 48 });
    expect(familyLength(prefix('::/0'))).toEqual({ family: 4, bits: 0 });
    expect(familyLength(prefix('::/80'))).toEqual({ family: 4, bits: 0 });
    expect(familyLength(prefix('::1'))).toEqual({ family: 6, bits: 128 });
  });

  it('overlaps: one holds the other', () => {
    expect(prefixesOverlap(prefix('10.0.0.0/8'), prefix('10.2.3.4'))).toBe(true);
    expect(prefixesOverlap(prefix('10.2.3.4'), prefix('10.0.0.0/8'))).toBe(true);
    expect(prefixesOverlap(prefix('10.0.0.0/8'), prefix('11.0.0.0/8'))).toBe(false);
    expect(prefixesOverlap(prefix('::/0'), prefix('10.0.0.1'))).toBe(true);
  });

  it('the most specific entry wins, whatever their order; of equal ones the first given', () => {
    const match = longestPrefixMatcher(
      ['::/0', '10.0.0.0/8', '10.1.0.0/16', '10.1.2.3', '10.1.0.0/16', '2001:db8::/32'].map((e, i) => ({ prefix: prefix(e), value: `${i}:${e}` })),
    );
    expect(match('10.1.2.3')).toBe('3:10.1.2.3');
    expect(match('::ffff:10.1.2.4')).toBe('2:10.1.0.0/16');
    expect(match('10.2.0.1')).toBe('1:10.0.0.0/8');
    expect(match('192.0.2.1')).toBe('0:::/0');
    expect(match('2001:db8::7')).toBe('5:2001:db8::/32');
    expect(match('garbage')).toBeUndefined();
    expect(longestPrefixMatcher([])('10.0.0.1')).toBeUndefined();
  });

  it('matches what Node’s BlockList matches (property)', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), v4, (network, bits, address) => {
        const entry = `${network}/${bits}`;
        const match = longestPrefixMatcher([{ prefix: prefix(entry), value: true }]);
        for (const a of [address, network]) expect(match(a) ?? false).toBe(addressMatcher([entry])(a));
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), fc.ipV6(), (network, bits, address) => {
        const entry = `${network}/${bits}`;
        const match = longestPrefixMatcher([{ prefix: prefix(entry), value: true }]);
        for (const a of [address, network]) expect(match(a) ?? false).toBe(addressMatcher([entry])(a));
      }),
    );
  });
});
