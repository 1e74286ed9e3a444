import { addressMatcher } from '../../core/net.js';
import type { NumberFacts, Policy } from './screening.js';
import { DEFAULT_POLICY } from './screening.js';
import type { PolicyRecord, TrunkRecord, VoiceRepository } from './repository.js';
import type { Ingress } from './types.js';

export const DEFAULT_POLICY_ID = '*';

export interface Trunk {
  id: string;
  operatorId: string | null;
  ingress: Ingress;
}

/**
 * The operator holding the longest range (national-number prefix) that starts a Kazakh E.164 number: a lookup per
 * prefix length, not a scan. Shared by the in-memory index and the database-backed roaming check.
 */
export function rangeHolderLookup(holders: readonly { prefix: string; operatorId: string }[]): (e164: string) => string | undefined {
  const byPrefix = new Map(holders.map((h) => [h.prefix, h.operatorId]));
  const lengths = [...new Set(holders.map((h) => h.prefix.length))].sort((a, b) => b - a);
  return (e164) => {
    const nsn = e164.slice(2);
    for (const length of lengths) {
      const holder = byPrefix.get(nsn.slice(0, length));
      if (holder) return holder;
    }
    return undefined;
  };
}

const toPolicy = (p: Pick<PolicyRecord, 'block' | 'flag' | 'enabled'>): Policy => ({ block: new Set(p.block), flag: new Set(p.flag), enabled: p.enabled });
const BUILT_IN_DEFAULT = toPolicy(DEFAULT_POLICY);

/**
 * Everything screening reads, in memory: roaming subscribers with their expiry, the do-not-originate list,
 * blocklisted numbers, policies and trunks. Loaded from the database on start and kept in step by events; the
 * database stays the source of truth.
 */
export class VoiceIndex implements NumberFacts {
  private roaming = new Map<string, number>();
  private dno = new Set<string>();
  private blocked = new Set<string>();
  private policies = new Map<string, Policy>();
  private trunks: { matches: (address: string) => boolean; trunk: Trunk }[] = [];
  private trunkIds = new Set<string>();
  private ported = new Map<string, string>();
  private rangeHolder: (e164: string) => string | undefined = () => undefined;
  private rangeHolderCount = 0;
  /** While the roaming snapshot loads, numbers named by change events; re-read once it is in. */
  private roamingPending: Set<string> | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  isRoaming(e164: string): boolean {
    const until = this.roaming.get(e164);
    return until !== undefined && until > this.now();
  }

  isDoNotOriginate(number: string): boolean {
    return this.dno.has(number);
  }

  isBlocklisted(e164: string): boolean {
    return this.blocked.has(e164);
  }

  /** The receiving operator's policy, or the default one. A disabled default policy is the global kill switch. */
  policyFor(operatorId: string | null | undefined): Policy {
    const fallback = this.policies.get(DEFAULT_POLICY_ID) ?? BUILT_IN_DEFAULT;
    if (!fallback.enabled) return fallback;
    return (operatorId ? this.policies.get(operatorId) : undefined) ?? fallback;
  }

  /** The trunk whose addresses or CIDRs include this source address (IPv6 in any notation). */
  trunkOf(address: string): Trunk | undefined {
    return this.trunks.find((t) => t.matches(address))?.trunk;
  }

  isTrunk(id: string): boolean {
    return this.trunkIds.has(id);
  }

  /** The operator serving a Kazakh number: the one it is ported to, else the holder of its range; null if unknown. */
  homeOperator(e164: string): string | null {
    return this.ported.get(e164) ?? this.rangeHolder(e164) ?? null;
  }

  /**
   * Re-reads the roaming rows of these numbers (what a change event names): replayed or reordered events cannot
   * bring back an older state. During a snapshot load the numbers wait and are re-read after it.
   */
  async refreshRoaming(repo: VoiceRepository, msisdns: string[]): Promise<void> {
    if (this.roamingPending) {
      for (const m of msisdns) this.roamingPending.add(m);
      return;
    }
    const rows = await repo.roamingOf(msisdns);
    for (const m of msisdns) this.roaming.delete(m);
    const now = this.now();
    for (const r of rows) if (r.expiresAt.getTime() > now) this.roaming.set(r.msisdn, r.expiresAt.getTime());
  }

  applyList(list: 'dno' | 'blocklist', numbers: string[], listed: boolean): void {
    const set = list === 'dno' ? this.dno : this.blocked;
    for (const n of numbers) {
      if (listed) set.add(n);
      else set.delete(n);
    }
  }

  async loadRoaming(repo: VoiceRepository): Promise<void> {
    const pending = (this.roamingPending = new Set());
    try {
      const rows = await repo.liveRoaming(new Date(this.now()));
      this.roaming = new Map(rows.map((r) => [r.msisdn, r.expiresAt.getTime()]));
    } finally {
      this.roamingPending = null;
    }
    if (pending.size) await this.refreshRoaming(repo, [...pending]);
  }

  async loadOwnership(repo: VoiceRepository): Promise<void> {
    this.ported = new Map((await repo.ported()).map((p) => [p.msisdn, p.operatorId]));
    const holders = await repo.rangeHolders();
    this.rangeHolder = rangeHolderLookup(holders);
    this.rangeHolderCount = holders.length;
  }

  async loadLists(repo: VoiceRepository): Promise<void> {
    this.dno = new Set((await repo.listDno()).map((d) => d.msisdn));
    this.blocked = new Set(await repo.blocklist());
  }

  async loadPolicies(repo: VoiceRepository): Promise<void> {
    this.policies = new Map((await repo.policies()).map((p) => [p.operatorId, toPolicy(p)]));
  }

  async loadTrunks(repo: VoiceRepository): Promise<void> {
    this.setTrunks(await repo.trunks());
  }

  setTrunks(trunks: TrunkRecord[]): void {
    this.trunks = trunks.map((t) => ({ matches: addressMatcher(t.addresses), trunk: { id: t.id, operatorId: t.operatorId, ingress: t.ingress } }));
    this.trunkIds = new Set(trunks.map((t) => t.id));
  }

  async loadAll(repo: VoiceRepository): Promise<void> {
    await this.loadRoaming(repo);
    await this.loadLists(repo);
    await this.loadPolicies(repo);
    await this.loadTrunks(repo);
    await this.loadOwnership(repo);
  }

  stats(): { roaming: number; doNotOriginate: number; blocklisted: number; policies: number; trunks: number; ported: number; rangeHolders: number } {
    return { roaming: this.roaming.size, doNotOriginate: this.dno.size, blocklisted: this.blocked.size, policies: this.policies.size, trunks: this.trunks.length, ported: this.ported.size, rangeHolders: this.rangeHolderCount };
  }
}
