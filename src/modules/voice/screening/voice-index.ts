import type { ReferenceRepository } from '../reference/repository.js';
import type { TrunkRecord } from '../reference/schema.js';
import { longestPrefixMatcher, toPrefix, type Prefix } from '../reference/trunk-addresses.js';
import type { PolicyRecord, ScreeningRepository } from './repository.js';
import { DEFAULT_POLICY_ID, type Ingress } from './schema.js';
import { DEFAULT_POLICY, type NumberFacts, type Policy } from './verdicts.js';

/** The reads the index loads from: the reference data and the screening policies. */
export type IndexSource = Pick<ReferenceRepository, 'roamingOf' | 'liveRoaming' | 'ported' | 'rangeHolders' | 'listDno' | 'blocklist' | 'trunks'> &
  Pick<ScreeningRepository, 'policies'>;

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

type Area = 'roaming' | 'lists' | 'policies' | 'trunks' | 'ownership';

/**
 * Everything screening reads, in memory: roaming subscribers with their expiry, the do-not-originate list,
 * blocklisted numbers, policies and trunks. Loaded from the database on start and kept in step by events; the
 * database stays the source of truth. A write on this instance is applied here as soon as it commits (`apply…`,
 * `set…`, `put…`, `remove…`), before its event comes back: the writer reads its own writes even without the bus.
 */
export class VoiceIndex implements NumberFacts {
  private roaming = new Map<string, number>();
  private dno = new Set<string>();
  private blocked = new Set<string>();
  private policies = new Map<string, Policy>();
  private trunkAt: (address: string) => Trunk | undefined = () => undefined;
  private trunkRecords = new Map<string, TrunkRecord>();
  private ported = new Map<string, string>();
  private holders = new Map<string, string>();
  private rangeHolder: (e164: string) => string | undefined = () => undefined;
  /** Writes applied directly, per area: a read from the database that overlapped one may predate it. */
  private readonly localWrites: Record<Area, number> = { roaming: 0, lists: 0, policies: 0, trunks: 0, ownership: 0 };
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

  /**
   * The trunk with the most specific address or CIDR holding this source address (IPv6 in any notation; IPv4 and
   * its IPv4-mapped form alike); of equally specific entries, the trunk with the smallest id.
   */
  trunkOf(address: string): Trunk | undefined {
    return this.trunkAt(address);
  }

  isTrunk(id: string): boolean {
    return this.trunkRecords.has(id);
  }

  /** The operator serving a Kazakh number: the one it is ported to, else the holder of its range; null if unknown. */
  homeOperator(e164: string): string | null {
    return this.ported.get(e164) ?? this.rangeHolder(e164) ?? null;
  }

  /** Reads until no write was applied directly meanwhile (at most three times; the write's own event follows). */
  private async settled<T>(area: Area, read: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const before = this.localWrites[area];
      const value = await read();
      if (this.localWrites[area] === before || attempt === 3) return value;
    }
  }

  /**
   * Re-reads the roaming rows of these numbers (what a change event names): replayed or reordered events cannot
   * bring back an older state. During a snapshot load the numbers wait and are re-read after it.
   */
  async refreshRoaming(repo: Pick<IndexSource, 'roamingOf'>, msisdns: string[]): Promise<void> {
    if (this.roamingPending) {
      for (const m of msisdns) this.roamingPending.add(m);
      return;
    }
    const rows = await this.settled('roaming', () => repo.roamingOf(msisdns));
    for (const m of msisdns) this.roaming.delete(m);
    const now = this.now();
    for (const r of rows) if (r.expiresAt.getTime() > now) this.roaming.set(r.msisdn, r.expiresAt.getTime());
  }

  /** A committed roaming report: these numbers abroad until their expiry, those at home. */
  applyRoaming(abroad: readonly { msisdn: string; expiresAt: Date }[], home: readonly string[]): void {
    this.localWrites.roaming++;
    for (const a of abroad) this.roaming.set(a.msisdn, a.expiresAt.getTime());
    for (const m of home) this.roaming.delete(m);
  }

  applyList(list: 'dno' | 'blocklist', numbers: string[], listed: boolean): void {
    this.localWrites.lists++;
    const set = list === 'dno' ? this.dno : this.blocked;
    for (const n of numbers) {
      if (listed) set.add(n);
      else set.delete(n);
    }
  }

  setPolicy(policy: Pick<PolicyRecord, 'operatorId' | 'block' | 'flag' | 'enabled'>): void {
    this.localWrites.policies++;
    this.policies.set(policy.operatorId, toPolicy(policy));
  }

  putTrunk(trunk: TrunkRecord): void {
    this.localWrites.trunks++;
    this.setTrunks([...this.trunkRecords.values()].filter((t) => t.id !== trunk.id).concat(trunk));
  }

  removeTrunk(id: string): void {
    this.localWrites.trunks++;
    this.setTrunks([...this.trunkRecords.values()].filter((t) => t.id !== id));
  }

  /** A committed range assignment (`operatorId`) or removal (null). */
  setRangeHolder(prefix: string, operatorId: string | null): void {
    this.localWrites.ownership++;
    if (operatorId === null) this.holders.delete(prefix);
    else this.holders.set(prefix, operatorId);
    this.rangeHolder = rangeHolderLookup([...this.holders].map(([p, o]) => ({ prefix: p, operatorId: o })));
  }

  async loadRoaming(repo: Pick<IndexSource, 'liveRoaming' | 'roamingOf'>): Promise<void> {
    const pending = (this.roamingPending = new Set());
    try {
      const rows = await this.settled('roaming', () => repo.liveRoaming(new Date(this.now())));
      this.roaming = new Map(rows.map((r) => [r.msisdn, r.expiresAt.getTime()]));
    } finally {
      this.roamingPending = null;
    }
    if (pending.size) await this.refreshRoaming(repo, [...pending]);
  }

  async loadOwnership(repo: Pick<IndexSource, 'ported' | 'rangeHolders'>): Promise<void> {
    const { ported, holders } = await this.settled('ownership', async () => ({ ported: await repo.ported(), holders: await repo.rangeHolders() }));
    this.ported = new Map(ported.map((p) => [p.msisdn, p.operatorId]));
    this.holders = new Map(holders.map((h) => [h.prefix, h.operatorId]));
    this.rangeHolder = rangeHolderLookup(holders);
  }

  async loadLists(repo: Pick<IndexSource, 'listDno' | 'blocklist'>): Promise<void> {
    const { dno, blocked } = await this.settled('lists', async () => ({ dno: await repo.listDno(), blocked: await repo.blocklist() }));
    this.dno = new Set(dno.map((d) => d.msisdn));
    this.blocked = new Set(blocked);
  }

  async loadPolicies(repo: Pick<IndexSource, 'policies'>): Promise<void> {
    this.policies = new Map((await this.settled('policies', () => repo.policies())).map((p) => [p.operatorId, toPolicy(p)]));
  }

  async loadTrunks(repo: Pick<IndexSource, 'trunks'>): Promise<void> {
    this.setTrunks(await this.settled('trunks', () => repo.trunks()));
  }

  setTrunks(trunks: TrunkRecord[]): void {
    this.trunkRecords = new Map(trunks.map((t) => [t.id, t]));
    const entries: { prefix: Prefix; value: Trunk }[] = [];
    for (const t of [...trunks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const value = { id: t.id, operatorId: t.operatorId, ingress: t.ingress };
      for (const address of t.addresses) {
        const prefix = toPrefix(address);
        if (prefix) entries.push({ prefix, value });
      }
    }
    this.trunkAt = longestPrefixMatcher(entries);
  }

  async loadAll(repo: IndexSource): Promise<void> {
    await this.loadRoaming(repo);
    await this.loadLists(repo);
    await this.loadPolicies(repo);
    await this.loadTrunks(repo);
    await this.loadOwnership(repo);
  }

  stats(): { roaming: number; doNotOriginate: number; blocklisted: number; policies: number; trunks: number; ported: number; rangeHolders: number } {
    return {
      roaming: this.roaming.size,
      doNotOriginate: this.dno.size,
      blocklisted: this.blocked.size,
      policies: this.policies.size,
      trunks: this.trunkRecords.size,
      ported: this.ported.size,
      rangeHolders: this.holders.size,
    };
  }
}
