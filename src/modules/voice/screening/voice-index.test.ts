import { describe, expect, it } from 'vitest';
import type { TrunkRecord } from '../reference/schema.js';
import type { PolicyRecord } from './repository.js';
import { VoiceIndex, type IndexSource } from './voice-index.js';

/** A repository whose reads answer what `state` holds when they are released, one release per read. */
function gatedRepository(state: { policies: PolicyRecord[]; roaming: { msisdn: string; expiresAt: Date }[] }) {
  const waiting: (() => void)[] = [];
  const gate = <T>(read: () => T) => new Promise<T>((resolve) => waiting.push(() => resolve(read())));
  const repo = {
    policies: () => gate(() => state.policies),
    roamingOf: (msisdns: string[]) => gate(() => state.roaming.filter((r) => msisdns.includes(r.msisdn))),
  } as unknown as IndexSource;
  return { repo, reads: () => waiting.length, release: () => waiting.shift()?.() };
}

const tick = () => new Promise((r) => setImmediate(r));
const policy = (flag: PolicyRecord['flag']): PolicyRecord => ({ operatorId: 'op', block: [], flag, enabled: true, updatedAt: new Date() });

describe('VoiceIndex: a read that overlapped a write applied on commit does not bring back the older state', () => {
  it('policies: the load reads again and keeps the write', async () => {
    const state = { policies: [policy([])], roaming: [] };
    const { repo, reads, release } = gatedRepository(state);
    const index = new VoiceIndex(() => 0);
    const load = index.loadPolicies(repo);
    await tick();
    release(); // the load read the database before the write committed…
    state.policies = [policy(['DO_NOT_ORIGINATE'])];
    index.setPolicy(policy(['DO_NOT_ORIGINATE'])); // …which is applied here on commit, before the load finishes
    await tick();
    expect(reads()).toBe(1); // so it reads again
    release();
    await load;
    expect(index.policyFor('op').flag.has('DO_NOT_ORIGINATE')).toBe(true);
  });

  it('roaming: an event re-reading a number keeps a report applied meanwhile', async () => {
    const until = new Date(60_000);
    const state = { policies: [], roaming: [] as { msisdn: string; expiresAt: Date }[] };
    const { repo, reads, release } = gatedRepository(state);
    const index = new VoiceIndex(() => 0);
    const refresh = index.refreshRoaming(repo, ['+77011234567']);
    await tick();
    release();
    state.roaming = [{ msisdn: '+77011234567', expiresAt: until }];
    index.applyRoaming(state.roaming, []);
    await tick();
    expect(reads()).toBe(1);
    release();
    await refresh;
    expect(index.isRoaming('+77011234567')).toBe(true);
  });
});

describe('VoiceIndex: trunks by source address', () => {
  const trunk = (id: string, addresses: string[], operatorId: string | null = null): TrunkRecord => ({
    id,
    name: id,
    operatorId,
    addresses,
    ingress: 'international',
  });

  it('the most specific address or CIDR wins, whatever the trunks’ ids; equal ones go to the smallest id', () => {
    const index = new VoiceIndex(() => 0);
    index.putTrunk(trunk('0-kcell', ['10.0.0.0/8', '2001:db8::/32'], 'kcell'));
    index.putTrunk(trunk('z-regulator', ['10.1.2.0/24', '2001:db8:1::/48']));
    expect(index.trunkOf('10.1.2.3')?.id).toBe('z-regulator');
    expect(index.trunkOf('::ffff:10.1.2.3')?.id).toBe('z-regulator');
    expect(index.trunkOf('10.1.3.1')?.id).toBe('0-kcell');
    expect(index.trunkOf('2001:db8:1::9')?.id).toBe('z-regulator');
    expect(index.trunkOf('2001:db8:2::9')?.id).toBe('0-kcell');
    index.putTrunk(trunk('b-host', ['10.1.2.3']));
    index.putTrunk(trunk('a-host', ['10.1.2.3']));
    expect(index.trunkOf('10.1.2.3')?.id).toBe('a-host');
    index.removeTrunk('a-host');
    expect(index.trunkOf('10.1.2.3')?.id).toBe('b-host');
    index.setTrunks([trunk('y', ['192.0.2.0/24']), trunk('x', ['192.0.2.0/24'])]);
    expect(index.trunkOf('192.0.2.1')?.id).toBe('x');
    expect(index.trunkOf('10.1.2.3')).toBeUndefined();
    expect(index.stats().trunks).toBe(2);
  });
});
