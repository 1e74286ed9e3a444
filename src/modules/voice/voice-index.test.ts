import { describe, expect, it } from 'vitest';
import type { PolicyRecord, VoiceRepository } from './repository.js';
import { VoiceIndex } from './voice-index.js';

/** A repository whose reads answer what `state` holds when they are released, one release per read. */
function gatedRepository(state: { policies: PolicyRecord[]; roaming: { msisdn: string; expiresAt: Date }[] }) {
  const waiting: (() => void)[] = [];
  const gate = <T>(read: () => T) => new Promise<T>((resolve) => waiting.push(() => resolve(read())));
  const repo = {
    policies: () => gate(() => state.policies),
    roamingOf: (msisdns: string[]) => gate(() => state.roaming.filter((r) => msisdns.includes(r.msisdn))),
  } as unknown as VoiceRepository;
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
