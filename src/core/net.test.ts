import { describe, expect, it } from 'vitest';
import { addressMatcher, isAddressOrCidr } from './net.js';

describe('addresses and CIDRs', () => {
  it('accepts real addresses and prefix lengths that fit, nothing else', () => {
    for (const ok of ['127.0.0.1', '10.0.0.0/8', '::1', '2001:db8::/32', '192.0.2.1/32']) expect(isAddressOrCidr(ok), ok).toBe(true);
    for (const bad of ['999.1.1.1', '10.0.0.0/40', '2001:db8::/129', 'localhost', '', '10.0.0.0/8/1', 'fe80::1%eth0'])
      expect(isAddressOrCidr(bad), bad).toBe(false);
  });

  it('matches addresses and subnets, IPv6 in any notation; non-addresses match nothing', () => {
    const matches = addressMatcher(['10.1.0.0/16', '192.0.2.10', '2001:DB8::1']);
    expect(matches('10.1.2.3')).toBe(true);
    expect(matches('192.0.2.10')).toBe(true);
    expect(matches('192.0.2.11')).toBe(false);
    expect(matches('2001:db8:0:0::1')).toBe(true);
    expect(matches('not an address')).toBe(false);
  });
});
