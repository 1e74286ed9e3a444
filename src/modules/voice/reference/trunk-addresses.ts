import { isIP } from 'node:net';

/**
 * Trunk source addresses as prefixes of one 128-bit space: IPv4 as IPv4-mapped IPv6 (`10.0.0.0/24` is
 * `::ffff:10.0.0.0/120`), the way Node's BlockList matches them, so one measure orders every entry across families:
 * the longer the prefix, the more specific. An address without a length is a /128.
 */
export interface Prefix {
  network: bigint;
  bits: number;
}

const MAPPED = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;
const MASKS = Array.from({ length: 129 }, (_, bits) => ALL ^ ((1n << BigInt(128 - bits)) - 1n));

const ipv4Value = (address: string): bigint => BigInt(address.split('.').reduce((v, octet) => v * 256 + Number(octet), 0));

function ipv6Value(address: string): bigint {
  let text = address.split('%')[0] ?? '';
  const colon = text.lastIndexOf(':');
  if (text.includes('.', colon)) {
    const v4 = ipv4Value(text.slice(colon + 1));
    text = `${text.slice(0, colon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const first = groups(head);
  const last = groups(tail);
  return BigInt(`0x${[...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last].map((g) => g.padStart(4, '0')).join('')}`);
}

/** An IPv4 or IPv6 address (any notation, zone ignored) in the 128-bit space; undefined for anything else. */
export function addressValue(address: string): bigint | undefined {
  const family = isIP(address);
  return family === 4 ? MAPPED | ipv4Value(address) : family === 6 ? ipv6Value(address) : undefined;
}

/** An address or CIDR as a prefix (undefined when it is neither). */
export function toPrefix(entry: string): Prefix | undefined {
  const [address = '', length] = entry.split('/');
  const value = addressValue(address);
  if (value === undefined) return undefined;
  const bits = length === undefined ? 128 : Number(length) + (isIP(address) === 4 ? 96 : 0);
  return bits > 128 ? undefined : { network: value & (MASKS[bits] ?? ALL), bits };
}

/** Do two prefixes share an address (then the shorter holds the longer)? */
export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  const shorter = a.bits <= b.bits ? a : b;
  const longer = shorter === a ? b : a;
  return (longer.network & (MASKS[shorter.bits] ?? ALL)) === shorter.network;
}

/**
 * The prefix's length in the family whose addresses it holds: an IPv4 length for one inside `::ffff:0:0/96`;
 * an IPv6 prefix that holds that whole range holds every IPv4 address, so it counts as IPv4 /0.
 */
export function familyLength(p: Prefix): { family: 4 | 6; bits: number } {
  if (p.bits >= 96 && p.network >> 32n === 0xffffn) return { family: 4, bits: p.bits - 96 };
  if ((MAPPED & (MASKS[p.bits] ?? ALL)) === p.network) return { family: 4, bits: 0 };
  return { family: 6, bits: p.bits };
}

/**
 * Longest-prefix match: the value of the most specific entry holding an address. One map lookup per distinct
 * prefix length (a handful), whatever the number of entries; of equal entries the first given wins.
 */
export function longestPrefixMatcher<T>(entries: readonly { prefix: Prefix; value: T }[]): (address: string) => T | undefined {
  const byLength = new Map<number, Map<bigint, T>>();
  for (const { prefix, value } of entries) {
    let networks = byLength.get(prefix.bits);
    if (!networks) byLength.set(prefix.bits, (networks = new Map()));
    if (!networks.has(prefix.network)) networks.set(prefix.network, value);
  }
  const levels = [...byLength].sort(([a], [b]) => b - a).map(([bits, networks]) => ({ mask: MASKS[bits] ?? ALL, networks }));
  return (address) => {
    const value = addressValue(address);
    if (value === undefined) return undefined;
    for (const { mask, networks } of levels) {
      const hit = networks.get(value & mask);
      if (hit !== undefined) return hit;
    }
    return undefined;
  };
}
