import { BlockList, isIP } from 'node:net';
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
  private trunksByAddress = new Map<string, Trunk>();
  private trunkRanges: { list: BlockList; trunk: Trunk }[] = [];

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

  trunkOf(address: string): Trunk | undefined {
    const exact = this.trunksByAddress.get(address);
    if (exact) return exact;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    return this.trunkRanges.find((r) => r.list.check(address, family))?.trunk;
  }

  applyRoaming(changes: { msisdn: string; expiresAt: number | null }[]): void {
    for (const c of changes) {
      if (c.expiresAt === null) this.roaming.delete(c.msisdn);
      else this.roaming.set(c.msisdn, c.expiresAt);
    }
  }

  /** Drops expired roaming entries (the lookups ignore them anyway; this frees the memory). */
  pruneRoaming(): void {
    const now = this.now();
    for (const [msisdn, until] of this.roaming) if (until <= now) this.roaming.delete(msisdn);
  }

  async loadRoaming(repo: VoiceRepository): Promise<void> {
    const rows = await repo.liveRoaming(new Date(this.now()));
    this.roaming = new Map(rows.map((r) => [r.msisdn, r.expiresAt.getTime()]));
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
    const byAddress = new Map<string, Trunk>();
    const ranges: { list: BlockList; trunk: Trunk }[] = [];
    for (const t of trunks) {
      const trunk = { id: t.id, operatorId: t.operatorId, ingress: t.ingress };
      for (const a of t.addresses) {
        if (!a.includes('/')) byAddress.set(a, trunk);
        else {
          const [net, bits] = a.split('/') as [string, string];
          const list = new BlockList();
          list.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
          ranges.push({ list, trunk });
        }
      }
    }
    this.trunksByAddress = byAddress;
    this.trunkRanges = ranges;
  }

  async loadAll(repo: VoiceRepository): Promise<void> {
    await Promise.all([this.loadRoaming(repo), this.loadLists(repo), this.loadPolicies(repo), this.loadTrunks(repo)]);
  }

  stats(): { roaming: number; doNotOriginate: number; blocklisted: number; policies: number; trunks: number } {
    return { roaming: this.roaming.size, doNotOriginate: this.dno.size, blocklisted: this.blocked.size, policies: this.policies.size, trunks: new Set([...this.trunksByAddress.values(), ...this.trunkRanges.map((r) => r.trunk)]).size };
  }
}
