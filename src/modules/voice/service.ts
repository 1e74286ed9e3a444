import type { Readable } from 'node:stream';
import type { RequestContext } from '../../core/auth/principal.js';
import type { OrgDirectory } from '../../core/auth/directory.js';
import type { AuditService } from '../../core/audit/service.js';
import type { Executor } from '../../core/db/database.js';
import { isIsoDay } from '../../core/days.js';
import { DomainError } from '../../core/errors.js';
import type { EventBus, Subscription } from '../../core/events/bus.js';
import type { Outbox } from '../../core/events/outbox.js';
import { runImport, type ImportReport } from '../../core/imports/csv-import.js';
import type { Logger } from '../../core/logger.js';
import { isAddressOrCidr } from '../../core/net.js';
import { maskMsisdn, parseMsisdn } from '../../identifiers/msisdn.js';
import type { VoiceCounters } from './counters.js';
import { voiceRepository, type TrunkRecord } from './repository.js';
import { DEFAULT_POLICY, screenCall } from './screening.js';
import { REASONS, type CallToScreen, type IdentityCheck, type Ingress, type Reason, type ScreeningResult } from './types.js';
import { CERTIFICATES_CHANGED as STIR_CERTIFICATES_CHANGED } from './stir/service.js';
import { DEFAULT_POLICY_ID, VoiceIndex, rangeHolderLookup } from './voice-index.js';
import { OPERATOR_TRUNK_PREFIX, requireNationalData, voicePolicy } from './policy.js';

export interface IdentityVerifier {
  verify(identity: string | undefined, call: { orig: string; dest: string }): Promise<IdentityCheck>;
  /** Re-reads the certificate store. */
  reload(): Promise<void>;
}

export interface VoiceServiceDeps {
  db: Executor;
  orgs: OrgDirectory;
  audit: AuditService;
  outbox: Outbox;
  bus: EventBus;
  logger: Logger;
  clock: () => Date;
  /** The clock in milliseconds, read on every screened call (default: `clock().getTime()`). */
  now?: () => number;
  counters: VoiceCounters;
  /** How long a roaming report holds unless refreshed. */
  roamingTtlMs: number;
  verifier?: IdentityVerifier;
}

export interface RoamingEntry {
  msisdn: string;
  roaming: boolean;
  country?: string;
}

export interface RowOutcome {
  index: number;
  msisdn: string;
  status: 'accepted' | 'rejected';
  reason?: string;
}

export interface DayStats {
  day: string;
  calls: { allow: number; flag: number; block: number };
  blockedByReason: Record<string, number>;
  flaggedByReason: Record<string, number>;
}

export const MAX_BATCH = 1_000;
export const MAX_ROAMING_BATCH = 10_000;
const FLUSH_EVERY_MS = 5_000;
/** The topics that list (true) or unlist (false) a number; others under intel.indicator.* and traffic.simbox.* change nothing. */
const BLOCKLIST_TOPICS: Record<string, boolean> = {
  'intel.indicator.published': true,
  'intel.indicator.withdrawn': false,
  'traffic.simbox.confirmed': true,
  'traffic.simbox.cleared': false,
};
const RELOAD_EVERY_MS = 15 * 60_000;

/** A problem lists at most this many of the items it refuses, then how many more (the answer stays small). */
const MAX_LISTED = 20;

function listed(items: readonly string[]): string {
  const more = items.length - MAX_LISTED;
  return items.slice(0, MAX_LISTED).join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/** How the do-not-originate list keys a number: short codes (102, 112, hotlines such as 7111) as digits, others as E.164; null if neither. */
function dnoKey(number: string): string | null {
  const digits = number.replace(/[\s\-.()]/g, '');
  if (/^[0-9]{3,6}$/.test(digits)) return digits;
  const parsed = parseMsisdn(number);
  return parsed.ok ? parsed.e164 : null;
}

/** A Kazakh number as E.164, or why not. */
function kazakhNumber(input: string, mobileOnly: boolean): { e164: string } | { error: string } {
  const parsed = parseMsisdn(input);
  if (!parsed.ok) return { error: `not a phone number (${parsed.reason})` };
  if (parsed.country === 'RU' || parsed.country === 'other') return { error: 'not a Kazakh number' };
  if (parsed.type === 'unallocated') return { error: 'not in an allocated Kazakh range' };
  if (mobileOnly && parsed.type !== 'mobile') return { error: 'not a Kazakh mobile number' };
  return { e164: parsed.e164 };
}

export function createVoiceService(deps: VoiceServiceDeps) {
  const now = deps.now ?? (() => deps.clock().getTime());
  const index = new VoiceIndex(now);
  const repo = () => voiceRepository(deps.db);
  const subscriptions: Subscription[] = [];
  const timers: NodeJS.Timeout[] = [];

  /** Operators and the regulator work in voice; anyone else is refused. */
  function requireVoiceActor(ctx: RequestContext): void {
    if (!voicePolicy.actsInVoice(ctx.principal)) throw new DomainError('forbidden', 'only operators (and the regulator) may do this');
  }



  /** The home operator of each number, from the database: the ported-to operator, else the range holder. */
  async function homeOperators(ex: Executor, e164s: string[]): Promise<Map<string, string>> {
    const r = voiceRepository(ex);
    const ported = await r.portedOperators(e164s);
    const holderOf = rangeHolderLookup(await r.rangeHolders());
    const home = new Map<string, string>();
    for (const n of e164s) {
      const owner = ported.get(n) ?? holderOf(n);
      if (owner) home.set(n, owner);
    }
    return home;
  }

  /**
   * Whose policy a caller may read or set: an operator its own (it decides, as the receiving operator, which reasons
   * block or flag its calls, e.g. during an incident); the regulator any operator's and the default (`*`).
   */
  async function policyTarget(ctx: RequestContext, operator: string, what: 'read' | 'set'): Promise<string> {
    requireVoiceActor(ctx);
    const target = operator === DEFAULT_POLICY_ID ? DEFAULT_POLICY_ID : await deps.orgs.requireOperatorId(operator);
    if (!voicePolicy.screeningPolicy(ctx.principal, target)) {
      throw new DomainError('forbidden', `${target === DEFAULT_POLICY_ID ? 'the default policy * is the regulator’s: ' : ''}an operator may ${what} only its own screening policy`);
    }
    return target;
  }

  function finish(call: CallToScreen, operatorId: string | null, identity: IdentityCheck | null): ScreeningResult {
    const result = screenCall(call, index, index.policyFor(operatorId), identity);
    // Only configured trunks become metric labels: a client-chosen trunkId must not grow the series without bound.
    const trunk = call.trunkId === undefined ? 'api' : index.isTrunk(call.trunkId) ? call.trunkId : 'unconfigured';
    deps.counters.record(call, result, operatorId, now(), trunk);
    return result;
  }

  const service = {
    index,

    /**
     * Screens one call for the receiving operator. Synchronous unless the call carries an Identity header (the
     * signature check is asynchronous); a malformed number is a verdict, not an error.
     */
    screen(call: CallToScreen, operatorId: string | null): ScreeningResult | Promise<ScreeningResult> {
      if (call.identity === undefined || call.identity.trim() === '' || !deps.verifier) return finish(call, operatorId, null);
      // RFC 8224: the PASSporT's dest is matched against the To header's number (the Request-URI may be a forward).
      return deps.verifier
        .verify(call.identity, { orig: call.callingNumber, dest: call.toNumber ?? call.calledNumber })
        .then((identity) => finish(call, operatorId, identity));
    },

    async screenBatch(calls: CallToScreen[], operatorId: string | null): Promise<ScreeningResult[]> {
      if (calls.length > MAX_BATCH) throw new DomainError('invalid', `at most ${MAX_BATCH} calls per batch`);
      return Promise.all(calls.map((c) => service.screen(c, operatorId)));
    },

    /**
     * Operators report which of their subscribers are abroad; an entry expires unless refreshed. Only a number's
     * home operator (ported-to operator, else range holder) reports it; the regulator reports for that operator.
     */
    async putRoaming(ctx: RequestContext, entries: RoamingEntry[]): Promise<{ accepted: number; rejected: number; results: RowOutcome[] }> {
      if (entries.length > MAX_ROAMING_BATCH) throw new DomainError('invalid', `at most ${MAX_ROAMING_BATCH} entries per batch`);
      requireVoiceActor(ctx);
      const results: RowOutcome[] = [];
      const valid: { index: number; e164: string; entry: RoamingEntry }[] = [];
      const seen = new Set<string>();
      entries.forEach((entry, i) => {
        const number = kazakhNumber(entry.msisdn, true);
        const reject = (reason: string) => results.push({ index: i, msisdn: maskMsisdn(entry.msisdn), status: 'rejected', reason });
        if ('error' in number) return reject(number.error);
        if (entry.country !== undefined && !/^[A-Z]{2}$/.test(entry.country)) return reject('country must be an ISO 3166-1 alpha-2 code');
        if (entry.roaming && entry.country === 'KZ') return reject('a subscriber roaming in KZ is not abroad');
        if (seen.has(number.e164)) return reject('the number appears twice in this batch');
        seen.add(number.e164);
        valid.push({ index: i, e164: number.e164, entry });
      });
      const expiresAt = new Date(deps.clock().getTime() + deps.roamingTtlMs);
      const changed: string[] = [];
      const up: { msisdn: string; operatorId: string; country: string | null; expiresAt: Date }[] = [];
      const down: string[] = [];
      await deps.db.transaction().execute(async (trx) => {
        const r = voiceRepository(trx);
        const home = await homeOperators(trx, valid.map((v) => v.e164));
        for (const v of valid) {
          const owner = home.get(v.e164);
          const reject = (reason: string) => results.push({ index: v.index, msisdn: maskMsisdn(v.e164), status: 'rejected', reason });
          if (!owner) {
            reject('no home operator on record for this number (its range has no holder and it is not ported)');
            continue;
          }
          if (!voicePolicy.reportRoaming(ctx.principal, owner)) {
            reject('not your subscriber: the number belongs to another operator');
            continue;
          }
          if (v.entry.roaming) up.push({ msisdn: v.e164, operatorId: owner, country: v.entry.country ?? null, expiresAt });
          else down.push(v.e164);
          changed.push(v.e164);
          results.push({ index: v.index, msisdn: maskMsisdn(v.e164), status: 'accepted' });
        }
        await r.upsertRoaming(up);
        await r.deleteRoaming(down);
        await deps.audit.record(trx, ctx, { action: 'voice.roaming.update', subjectType: 'roaming', detail: { abroad: up.length, home: down.length, rejected: results.length - changed.length } });
        if (changed.length) await deps.outbox.add(trx, 'voice.roaming.changed', { msisdns: changed });
      });
      index.applyRoaming(up, down);
      results.sort((a, b) => a.index - b.index);
      return { accepted: changed.length, rejected: results.length - changed.length, results };
    },

    /** Which operator holds a number range (national-number prefix, e.g. `701`): the home operator of its numbers. */
    async putRangeHolder(ctx: RequestContext, prefix: string, operator: string): Promise<{ prefix: string; operatorId: string }> {
      requireNationalData(ctx.principal, 'assign number ranges');
      if (!/^7[0-9]{1,6}$/.test(prefix)) throw new DomainError('invalid', 'prefix must be the start of a Kazakh national number: 7 and 1–6 more digits, e.g. 701');
      const operatorId = await deps.orgs.requireOperatorId(operator);
      await deps.db.transaction().execute(async (trx) => {
        await voiceRepository(trx).putRangeHolder(prefix, operatorId);
        await deps.audit.record(trx, ctx, { action: 'voice.range.assign', subjectType: 'range', subject: prefix, detail: { operatorId } });
        await deps.outbox.add(trx, 'voice.ownership.changed', { prefix });
      });
      index.setRangeHolder(prefix, operatorId);
      return { prefix, operatorId };
    },

    async deleteRangeHolder(ctx: RequestContext, prefix: string): Promise<void> {
      requireNationalData(ctx.principal, 'assign number ranges');
      await deps.db.transaction().execute(async (trx) => {
        if (!(await voiceRepository(trx).deleteRangeHolder(prefix))) throw new DomainError('not_found', `range ${prefix} has no holder`);
        await deps.audit.record(trx, ctx, { action: 'voice.range.unassign', subjectType: 'range', subject: prefix });
        await deps.outbox.add(trx, 'voice.ownership.changed', { prefix });
      });
      index.setRangeHolder(prefix, null);
    },

    listRangeHolders() {
      return repo().rangeHolders();
    },

    /** Ported numbers, CSV `msisdn,operator,portedAt` (operator by organisation name or id): an upsert, atomic. */
    async importPorted(ctx: RequestContext, opts: { input: Readable; onProgress?: (rows: number) => void }): Promise<ImportReport> {
      requireVoiceActor(ctx);
      // Every operator, by name and by id, read before the import's transaction begins (the embedded database
      // answers one connection at a time: a read beside an open transaction would wait for it).
      const operators = new Map<string, string>();
      for (const org of await deps.orgs.operators()) operators.set(org.name, org.id).set(org.id, org.id);
      const resolve = (name: string) => operators.get(name) ?? null;
      const report = await runImport<{ msisdn: string; operator: string; portedAt: Date }>({
        input: opts.input,
        columns: ['msisdn', 'operator', 'portedat'],
        db: deps.db,
        onProgress: opts.onProgress,
        parseRow(row) {
          const number = kazakhNumber(row.msisdn ?? '', true);
          if ('error' in number) return { ok: false, error: `msisdn: ${number.error}` };
          const operator = (row.operator ?? '').trim();
          if (!operator) return { ok: false, error: 'operator is empty' };
          const text = (row.portedat ?? '').trim();
          const portedAt = new Date(text);
          if (Number.isNaN(portedAt.getTime()) || !isIsoDay(text.slice(0, 10))) return { ok: false, error: 'portedAt must be an ISO 8601 date or date-time' };
          return { ok: true, value: { msisdn: number.e164, operator, portedAt } };
        },
        async writeBatch(trx, batch) {
          const errors: { line: number; message: string }[] = [];
          const onRecord = await voiceRepository(trx).portedOperators(batch.map((l) => l.value.msisdn));
          const rangeHolderOf = rangeHolderLookup(await voiceRepository(trx).rangeHolders());
          // A number listed twice in one batch: the later line wins.
          const rows = new Map<string, { msisdn: string; operatorId: string; portedAt: Date }>();
          for (const { line, value } of batch) {
            const operatorId = resolve(value.operator);
            // Who holds the number now (the donor): the operator it is ported to, else its range holder.
            const holder = onRecord.get(value.msisdn) ?? rangeHolderOf(value.msisdn);
            if (!operatorId) errors.push({ line, message: `operator "${value.operator}" is not a known operator organisation` });
            else if (!voicePolicy.recordPort(ctx.principal, holder)) errors.push({ line, message: holder === undefined ? 'no operator holds this number on record; only the regulator records its port' : 'the number is held by another operator: an operator records only ports of numbers it holds' });
            else rows.set(value.msisdn, { msisdn: value.msisdn, operatorId, portedAt: value.portedAt });
          }
          await voiceRepository(trx).upsertPorted([...rows.values()]);
          return errors;
        },
        async finish(trx, r) {
          await deps.audit.record(trx, ctx, { action: 'voice.ported.import', subjectType: 'ported', detail: { rows: r.rows, accepted: r.accepted, rejected: r.rejected } });
          if (r.accepted > 0) await deps.outbox.add(trx, 'voice.ownership.changed', { ported: r.accepted });
        },
      });
      // The register may be large: this instance re-reads it now (as every instance does on the event) rather than
      // holding the import's rows; if that read fails the import still stands, and the event or the reload follows.
      if (report.committed && report.accepted > 0) {
        await index.loadOwnership(repo()).catch((err: unknown) => deps.logger.warn({ err }, 'voice: re-reading ownership after a ported import failed; the event will'));
      }
      return report;
    },

    async portedCount(): Promise<number> {
      return repo().portedCount();
    },

    async addDoNotOriginate(ctx: RequestContext, entries: { number: string; label: string }[]): Promise<{ added: string[] }> {
      requireNationalData(ctx.principal, 'change the do-not-originate list');
      const normalised = entries.map((e) => {
        const msisdn = dnoKey(e.number);
        if (msisdn === null) throw new DomainError('invalid', `"${e.number}" is neither a phone number nor a 3–6 digit short code`);
        return { msisdn, label: e.label };
      });
      const unique = [...new Map(normalised.map((n) => [n.msisdn, n])).values()];
      await deps.db.transaction().execute(async (trx) => {
        await voiceRepository(trx).addDno(unique, ctx.principal.orgId);
        await deps.audit.record(trx, ctx, { action: 'voice.dno.add', subjectType: 'dno', detail: { numbers: unique.map((n) => n.msisdn) } });
        await deps.outbox.add(trx, 'voice.lists.changed', { list: 'dno', numbers: unique.map((n) => n.msisdn), listed: true });
      });
      index.applyList('dno', unique.map((n) => n.msisdn), true);
      return { added: unique.map((n) => n.msisdn) };
    },

    async removeDoNotOriginate(ctx: RequestContext, number: string): Promise<void> {
      requireNationalData(ctx.principal, 'change the do-not-originate list');
      const key = dnoKey(number) ?? number;
      await deps.db.transaction().execute(async (trx) => {
        if (!(await voiceRepository(trx).removeDno(key))) throw new DomainError('not_found', `${key} is not on the do-not-originate list`);
        await deps.audit.record(trx, ctx, { action: 'voice.dno.remove', subjectType: 'dno', subject: key });
        await deps.outbox.add(trx, 'voice.lists.changed', { list: 'dno', numbers: [key], listed: false });
      });
      index.applyList('dno', [key], false);
    },

    listDoNotOriginate() {
      return repo().listDno();
    },

    /** Adds or removes a blocklisted number as published by intel or traffic (shared work: one instance per event). */
    async applyBlocklistEvent(source: string, number: string, listed: boolean, reference: string | null): Promise<void> {
      const parsed = parseMsisdn(number);
      if (!parsed.ok) {
        deps.logger.warn({ source, number: maskMsisdn(number) }, 'voice: ignoring a blocklist event without a valid number');
        return;
      }
      await deps.db.transaction().execute(async (trx) => {
        if (listed) await voiceRepository(trx).upsertBlocklisted(parsed.e164, source, reference);
        else await voiceRepository(trx).removeBlocklisted(parsed.e164);
        await deps.outbox.add(trx, 'voice.lists.changed', { list: 'blocklist', numbers: [parsed.e164], listed });
      });
      index.applyList('blocklist', [parsed.e164], listed);
    },

    async policy(ctx: RequestContext, operator: string): Promise<{ operatorId: string; block: Reason[]; flag: Reason[]; enabled: boolean; isDefault: boolean }> {
      const operatorId = await policyTarget(ctx, operator, 'read');
      const all = await repo().policies();
      const own = all.find((p) => p.operatorId === operatorId);
      const fallback = all.find((p) => p.operatorId === DEFAULT_POLICY_ID) ?? { ...DEFAULT_POLICY, operatorId: DEFAULT_POLICY_ID };
      const p = own ?? fallback;
      return { operatorId, block: p.block, flag: p.flag, enabled: p.enabled, isDefault: !own };
    },

    /** Which reasons block and which flag, per receiving operator (`*` = the default; disabling it is the kill switch). */
    async putPolicy(ctx: RequestContext, operator: string, input: { block: string[]; flag: string[]; enabled: boolean }) {
      const operatorId = await policyTarget(ctx, operator, 'set');
      const unknown = [...new Set([...input.block, ...input.flag])].filter((r) => !(REASONS as readonly string[]).includes(r));
      if (unknown.length) throw new DomainError('invalid', `unknown reason(s): ${listed(unknown)}; known: ${REASONS.join(', ')}`);
      const both = input.block.filter((r) => input.flag.includes(r));
      if (both.length) throw new DomainError('invalid', `a reason either blocks or flags, not both: ${both.join(', ')}`);
      const policy = { operatorId, block: [...new Set(input.block)] as Reason[], flag: [...new Set(input.flag)] as Reason[], enabled: input.enabled };
      await deps.db.transaction().execute(async (trx) => {
        await voiceRepository(trx).putPolicy(policy);
        await deps.audit.record(trx, ctx, { action: 'voice.policy.set', subjectType: 'policy', subject: operatorId, detail: { block: policy.block, flag: policy.flag, enabled: policy.enabled } });
        await deps.outbox.add(trx, 'voice.policies.changed', { operatorId });
      });
      index.setPolicy(policy);
      // Answered from what was committed: a second read could fail (database restarting) after the write stood.
      return { ...policy, isDefault: false };
    },

    /** Trunks: every one for the regulator, an operator's own. */
    async listTrunks(ctx: RequestContext): Promise<TrunkRecord[]> {
      const visible = voicePolicy.visibleTrunks(ctx.principal);
      const all = await repo().trunks();
      return visible === 'all' ? all : all.filter((t) => t.operatorId !== null && t.operatorId === visible);
    },

    async putTrunk(ctx: RequestContext, input: { id: string; name: string; operator?: string; addresses: string[]; ingress: Ingress }): Promise<TrunkRecord> {
      requireVoiceActor(ctx);
      const bad = input.addresses.filter((a) => !isAddressOrCidr(a));
      if (bad.length) throw new DomainError('invalid', `not an IP address or CIDR: ${listed(bad)}`);
      const operatorId = input.operator === undefined ? voicePolicy.trunkOperatorByDefault(ctx.principal) : await deps.orgs.requireOperatorId(input.operator);
      const trunks = await repo().trunks();
      const existing = trunks.find((t) => t.id === input.id);
      if (existing && !voicePolicy.manageTrunk(ctx.principal, existing.operatorId)) throw new DomainError('forbidden', `trunk "${input.id}" is another organisation’s: only its operator or the regulator may change it`);
      if (!voicePolicy.manageTrunk(ctx.principal, operatorId)) throw new DomainError('forbidden', 'an operator configures only its own trunks');
      const wide = voicePolicy.trunkRangesTooWide(ctx.principal, input.addresses);
      if (wide.length) {
        const { 4: v4, 6: v6 } = OPERATOR_TRUNK_PREFIX;
        throw new DomainError('unprocessable', `an operator's trunk may hold at most an IPv4 /${v4} or an IPv6 /${v6} per entry (IPv4-mapped IPv6 counted as IPv4); wider ranges are the regulator's to configure: ${listed(wide)}`);
      }
      if (voicePolicy.addressConflicts(ctx.principal, input.addresses, trunks.filter((t) => t.id !== input.id)).length) {
        throw new DomainError('conflict', 'these addresses overlap another organisation’s trunk; ask the regulator');
      }
      const trunk: TrunkRecord = { id: input.id, name: input.name, operatorId, addresses: input.addresses, ingress: input.ingress };
      await deps.db.transaction().execute(async (trx) => {
        await voiceRepository(trx).putTrunk(trunk);
        await deps.audit.record(trx, ctx, { action: 'voice.trunk.set', subjectType: 'trunk', subject: trunk.id, detail: { addresses: trunk.addresses, ingress: trunk.ingress } });
        await deps.outbox.add(trx, 'voice.trunks.changed', { id: trunk.id });
      });
      index.putTrunk(trunk);
      return trunk;
    },

    async deleteTrunk(ctx: RequestContext, id: string): Promise<void> {
      requireVoiceActor(ctx);
      const existing = (await repo().trunks()).find((t) => t.id === id);
      if (existing && !voicePolicy.manageTrunk(ctx.principal, existing.operatorId)) throw new DomainError('not_found', `trunk "${id}" does not exist`);
      await deps.db.transaction().execute(async (trx) => {
        if (!(await voiceRepository(trx).deleteTrunk(id))) throw new DomainError('not_found', `trunk "${id}" does not exist`);
        await deps.audit.record(trx, ctx, { action: 'voice.trunk.delete', subjectType: 'trunk', subject: id });
        await deps.outbox.add(trx, 'voice.trunks.changed', { id });
      });
      index.removeTrunk(id);
    },

    /** Calls per day by verdict and reason: the caller's own as an operator, all operators' for the regulator. */
    async stats(ctx: RequestContext, range: { from?: string; to?: string }) {
      const to = range.to ?? deps.clock().toISOString().slice(0, 10);
      if (!isIsoDay(to)) throw new DomainError('invalid', `to must be a calendar date YYYY-MM-DD (got "${to}")`);
      const from = range.from ?? new Date(Date.parse(to) - 29 * 86_400_000).toISOString().slice(0, 10);
      if (!isIsoDay(from)) throw new DomainError('invalid', `from must be a calendar date YYYY-MM-DD (got "${from}")`);
      if (from > to) throw new DomainError('invalid', 'from must not be after to');
      const visible = voicePolicy.statsScope(ctx.principal);
      if (visible === null) throw new DomainError('forbidden', 'statistics are for operators and the regulator');
      const scope = visible === 'all' ? null : visible;
      await service.flush();
      const rows = await repo().stats(from, to, scope);
      const days = new Map<string, DayStats>();
      for (const r of rows) {
        let d = days.get(r.day);
        if (!d) days.set(r.day, (d = { day: r.day, calls: { allow: 0, flag: 0, block: 0 }, blockedByReason: {}, flaggedByReason: {} }));
        const verdict = r.verdict as keyof DayStats['calls'];
        if (r.reason === '*') d.calls[verdict] = (d.calls[verdict] ?? 0) + r.calls;
        else if (verdict === 'block') d.blockedByReason[r.reason] = r.calls;
        else if (verdict === 'flag') d.flaggedByReason[r.reason] = r.calls;
      }
      return { from, to, operator: scope ?? 'all', days: [...days.values()] };
    },

    async flush(): Promise<void> {
      await deps.counters.flush(deps.db, deps.outbox);
    },

    async reload(): Promise<void> {
      await index.loadAll(repo());
      await deps.verifier?.reload();
    },

    /**
     * Follows changes, then loads the indexes: fan-out events keep every instance's memory in step. Subscribing
     * first means no change published during the load is missed (roaming changes arriving meanwhile are re-read
     * after it); a periodic reload repairs anything an instance missed while it was away.
     */
    async start(): Promise<void> {
      const fanout = { fanout: true };
      const numbers = (v: unknown) => (Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string') : []);
      subscriptions.push(
        await deps.bus.subscribe('voice-roaming', 'voice.roaming.changed', (e) => index.refreshRoaming(repo(), numbers(e.payload.msisdns)), fanout),
        await deps.bus.subscribe('voice-lists', 'voice.lists.changed', async (e) => {
          const list = e.payload.list === 'dno' ? 'dno' : 'blocklist';
          if (Array.isArray(e.payload.numbers)) index.applyList(list, numbers(e.payload.numbers), e.payload.listed === true);
          else await index.loadLists(repo());
        }, fanout),
        await deps.bus.subscribe('voice-policies', 'voice.policies.changed', () => index.loadPolicies(repo()), fanout),
        await deps.bus.subscribe('voice-trunks', 'voice.trunks.changed', () => index.loadTrunks(repo()), fanout),
        await deps.bus.subscribe('voice-ownership', 'voice.ownership.changed', () => index.loadOwnership(repo()), fanout),
        await deps.bus.subscribe('voice-stir-certificates', STIR_CERTIFICATES_CHANGED, async () => deps.verifier?.reload(), fanout),
        await deps.bus.subscribe('voice-intel-blocklist', 'intel.indicator.*', async (e) => {
          const p = e.payload;
          const listed = BLOCKLIST_TOPICS[e.topic];
          if (listed === undefined || p.kind !== 'phone' || typeof p.value !== 'string') return;
          await service.applyBlocklistEvent('intel', p.value, listed, typeof p.id === 'string' ? p.id : null);
        }),
        await deps.bus.subscribe('voice-traffic-blocklist', 'traffic.simbox.*', async (e) => {
          const p = e.payload;
          const listed = BLOCKLIST_TOPICS[e.topic];
          if (listed === undefined || typeof p.msisdn !== 'string') return;
          await service.applyBlocklistEvent('traffic', p.msisdn, listed, typeof p.caseId === 'string' ? p.caseId : null);
        }),
      );
      await service.reload();
      const every = (ms: number, work: () => Promise<unknown>, what: string) => {
        const t = setInterval(() => void work().catch((err: unknown) => deps.logger.warn({ err }, `voice: ${what} failed; will retry`)), ms);
        t.unref();
        timers.push(t);
      };
      every(FLUSH_EVERY_MS, () => service.flush(), 'flushing counters');
      every(RELOAD_EVERY_MS, async () => {
        await service.reload();
        await repo().pruneRoaming(deps.clock());
      }, 'reloading indexes');
    },

    async stop(): Promise<void> {
      for (const t of timers.splice(0)) clearInterval(t);
      for (const s of subscriptions.splice(0)) await s.close();
      await service.flush().catch((err: unknown) => deps.logger.warn({ err }, 'voice: final counter flush failed'));
    },
  };
  return service;
}

export type VoiceService = ReturnType<typeof createVoiceService>;
