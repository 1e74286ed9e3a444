import { BlockList, isIP } from 'node:net';

const ADDRESS_OR_CIDR = /^[0-9a-fA-F:.]+(\/\d{1,3})?$/;

/** An IPv4 or IPv6 address, or a CIDR such as 10.0.0.0/8 or 2001:db8::/32 with a prefix length that fits. */
export function isAddressOrCidr(entry: string): boolean {
  if (!ADDRESS_OR_CIDR.test(entry)) return false;
  const [address = '', bits] = entry.split('/');
  const family = isIP(address);
  return family !== 0 && (bits === undefined || Number(bits) <= (family === 4 ? 32 : 128));
}

/**
 * A membership test for addresses and CIDRs (entries must pass `isAddressOrCidr`): IPv6 matches in any notation,
 * and anything that is not an address matches nothing.
 */
export function addressMatcher(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}
