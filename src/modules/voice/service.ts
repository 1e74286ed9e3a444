import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../../core/auth/principal.js';
import { callerOrg, regulates, requireRegulator } from '../../core/auth/authority.js';
import { authRepository, type Organisation } from '../../core/auth/repository.js';
import type { AuditService } from '../../core/audit/service.js';
import type { Executor } from '../../core/db/database.js';
import { DomainError } from '../../core/errors.js';
import type { EventBus, Subscription } from '../../core/events/bus.js';
import type { Outbox } from '../../core/events/outbox.js';
import { runImport, type ImportReport } from '../../core/imports/csv-import.js';
import type { Logger } from '../../core/logger.js';
import { maskMsisdn, parseMsisdn } from '../../identifiers/msisdn.js';
import type { VoiceCounters } from './counters.js';
import { voiceRepository, type TrunkRecord } from './repository.js';
import { DEFAULT_POLICY, screenCall } from './screening.js';
import { REASONS, type CallToScreen, type IdentityCheck, type Ingress, type Reason, type ScreeningResult } from './types.js';
import { DEFAULT_POLICY_ID, VoiceIndex } from './voice-index.js';

export interface IdentityVerifier {
  verify(identity: string | undefined, call: { orig: string; dest: string }): Promise<IdentityCheck>;
}

export interface VoiceServiceDeps {
  db: Executor;
  audit: AuditService;
  outbox: Outbox;
  bus: EventBus;
  logger: Logger;
  clock: () => Date;
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
const RELOAD_EVERY_MS = 15 * 60_000;

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
  const index = new VoiceIndex(() => deps.clock().getTime());
  const repo = () => voiceRepository(deps.db);
  const subscriptions: Subscription[] = [];
  const timers: NodeJS.Timeout[] = [];

  async function requireOperatorOrRegulator(ctx: RequestContext): Promise<Organisation | null> {
    const org = await callerOrg(deps.db, ctx);
    if (regulates(ctx, org)) return org;
    if (org?.kind !== 'operator') throw new DomainError('forbidden', 'only operators (and the regulator) may do this');
    return org;
  }

  function finish(call: CallToScreen, operatorId: string | null, identity: IdentityCheck | null): ScreeningResult {
    const result = screenCall(call, index, index.policyFor(operatorId), identity);
    deps.counters.record(call, result, operatorId, deps.clock());
    return result;
  }

  const service = {
    index,

    /**
     * Screens one call for the receiving operator. Synchronous unless the call carries an Identity header (the
     * signature check is asynchronous); a malformed number is a verdict, not an error.
     */
    screen(call: CallToScreen, operatorId: string | null): ScreeningResult | Promise<ScreeningResult> {
      if (call.identity === undefined || !deps.verifier) return finish(call, operatorId, null);
      return deps.verifier
        .verify(call.identity, { orig: call.callingNumber, dest: call.calledNumber })
        .then((identity) => finish(call, operatorId, identity));
    },

    async screenBatch(calls: CallToScreen[], operatorId: string | null): Promise<ScreeningResult[]> {
      if (calls.length > MAX_BATCH) throw new DomainError('invalid', `at most ${MAX_BATCH} calls per batch`);
      return Promise.all(calls.map((c) => service.screen(c, operatorId)));
    },

    /** Operators report which of their subscribers are abroad; an entry expires unless refreshed. */
    async putRoaming(ctx: RequestContext, entries: RoamingEntry[]): Promise<{ accepted: number; rejected: number; results: RowOutcome[] }> {
      if (entries.length > MAX_ROAMING_BATCH) throw new DomainError('invalid', `at most ${MAX_ROAMING_BATCH} entries per batch`);
      const org = await requireOperatorOrRegulator(ctx);
      const operatorId = org?.id ?? null;
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
      const now = deps.clock();
      const expiresAt = new Date(now.getTime() + deps.roamingTtlMs);
      const changes: { msisdn: string; expiresAt: number | null }[] = [];
      await deps.db.transaction().execute(async (trx) => {
        const r = voiceRepository(trx);
        // A ported number is served by the operator it was ported to: only that operator reports its roaming.
        const portedTo = await r.portedOperators(valid.map((v) => v.e164));
        const up: { msisdn: string; operatorId: string; country: string | null; expiresAt: Date }[] = [];
        const down: string[] = [];
        for (const v of valid) {
          const owner = portedTo.get(v.e164);
          if (operatorId && owner && owner !== operatorId) {
            results.push({ index: v.index, msisdn: maskMsisdn(v.e164), status: 'rejected', reason: 'the number is ported to another operator' });
            continue;
          }
          const reporter = operatorId ?? owner;
          if (!reporter) {
            results.push({ index: v.index, msisdn: maskMsisdn(v.e164), status: 'rejected', reason: 'the regulator must report for an operator: the number is not ported and no operator is known' });
            continue;
          }
          if (v.entry.roaming) up.push({ msisdn: v.e164, operatorId: reporter, country: v.entry.country ?? null, expiresAt });
          else down.push(v.e164);
          changes.push({ msisdn: v.e164, expiresAt: v.entry.roaming ? expiresAt.getTime() : null });
          results.push({ index: v.index, msisdn: maskMsisdn(v.e164), status: 'accepted' });
        }
        await r.upsertRoaming(up);
        await r.deleteRoaming(down);
        await deps.audit.record(trx, ctx, { action: 'voice.roaming.update', subjectType: 'roaming', detail: { abroad: up.length, home: down.length, rejected: results.length - changes.length } });
        if (changes.length) await deps.outbox.add(trx, 'voice.roaming.changed', { changes });
      });
      results.sort((a, b) => a.index - b.index);
      return { accepted: changes.length, rejected: results.length - changes.length, results };
    },

    /** Ported numbers, CSV `msisdn,operator,portedAt` (operator by organisation name or id): an upsert, atomic. */
    async importPorted(ctx: RequestContext, opts: { input: Readable; onProgress?: (rows: number) => void }): Promise<ImportReport> {
      const org = await requireOperatorOrRegulator(ctx);
      const operators = new Map<string, string | null>();
      const resolve = async (trx: Executor, name: string) => {
        if (!operators.has(name)) {
          const found = await authRepository(trx).findOrg(name);
          operators.set(name, found?.kind === 'operator' ? found.id : null);
        }
        return operators.get(name) ?? null;
      };
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
          const portedAt = new Date((row.portedat ?? '').trim());
          if (Number.isNaN(portedAt.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test((row.portedat ?? '').trim())) return { ok: false, error: 'portedAt must be an ISO 8601 date or date-time' };
          return { ok: true, value: { msisdn: number.e164, operator, portedAt } };
        },
        async writeBatch(trx, batch) {
          const errors: { line: number; message: string }[] = [];
          const rows = [];
          for (const { line, value } of batch) {
            const operatorId = await resolve(trx, value.operator);
            if (!operatorId) errors.push({ line, message: `operator "${value.operator}" is not a known operator organisation` });
            else if (org && org.kind === 'operator' && operatorId !== org.id) errors.push({ line, message: 'an operator uploads only the numbers ported to it' });
            else rows.push({ msisdn: value.msisdn, operatorId, portedAt: value.portedAt });
          }
          await voiceRepository(trx).upsertPorted(rows);
          return errors;
        },
        async finish(trx, r) {
          await deps.audit.record(trx, ctx, { action: 'voice.ported.import', subjectType: 'ported', detail: { rows: r.rows, accepted: r.accepted, rejected: r.rejected } });
        },
      });
      return report;
    },

    async portedCount(): Promise<number> {
      return repo().portedCount();
    },

    async addDoNotOriginate(ctx: RequestContext, entries: { number: string; label: string }[]): Promise<{ added: string[] }> {
      await requireRegulator(deps.db, ctx, 'change the do-not-originate list');
      const normalised = entries.map((e) => {
        const digits = e.number.replace(/[\s\-.()]/g, '');
        // Short codes (102, 112, bank hotlines such as 7111) are kept as digits; full numbers as E.164.
        if (/^[0-9]{3,6}$/.test(digits)) return { msisdn: digits, label: e.label };
        const parsed = parseMsisdn(e.number);
        if (!parsed.ok) throw new DomainError('invalid', `"${e.number}" is neither a phone number nor a 3–6 digit short code`);
        return { msisdn: parsed.e164, label: e.label };
      });
      await deps.db.transaction().execute(async (trx) => {
        await voiceRepository(trx).addDno(normalised, ctx.principal.orgId);
        await deps.audit.record(trx, ctx, { action: 'voice.dno.add', subjectType: 'dno', detail: { numbers: normalised.map((n) => n.msisdn) } });
        await deps.outbox.add(trx, 'voice.lists.changed', { list: 'dno' });
      });
      return { added: normalised.map((n) => n.msisdn) };
    },

    async removeDoNotOriginate(ctx: RequestContext, number: string): Promise<void> {
      await requireRegulator(deps.db, ctx, 'change the do-not-originate list');
      const digits = number.replace(/[\s\-.()]/g, '');
      const parsed = parseMsisdn(number);
      const key = /^[0-9]{3,6}$/.test(digits) ? digits : parsed.ok ? parsed.e164 : number;
      await deps.db.transaction().execute(async (trx) => {
        if (!(await voiceRepository(trx).removeDno(key))) throw new DomainError('not_found', `${key} is not on the do-not-originate list`);
        await deps.audit.record(trx, ctx, { action: 'voice.dno.remove', subjectType: 'dno', subject: key });
        await deps.outbox.add(trx, 'voice.lists.changed', { list: 'dno' });
      });
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
        await deps.outbox.add(trx, 'voice.lists.changed', { list: 'blocklist' });
      });
    },

    async policy(operatorId: string): Promise<{ operatorId: string; block: Reason[]; flag: Reason[]; enabled: boolean; isDefault: boolean }> {
      const all = await repo().policies();
      const own = all.find((p) => p.operatorId === operatorId);
      const fallback = all.find((p) => p.operatorId === DEFAULT_POLICY_ID) ?? { ...DEFAULT_POLICY, operatorId: DEFAULT_POLICY_ID };
      const p = own ?? fallback;
      return { operatorId, block: p.block, flag: p.flag, enabled: p.enabled, isDefault: !own };
    },

    /** Which reasons block and which flag, per receiving operator (`*` = the default; disabling it is the kill switch). */
    async putPolicy(ctx: RequestContext, operator: string, input: { block: string[]; flag: string[]; enabled: boolean }) {
      await requireRegulator(deps.db, ctx, 'set screening policies');
      const unknown = [...input.block, ...input.flag].filter((r) => !(REASONS as readonly string[]).includes(r));
      if (unknown.length) throw new DomainError('invalid', `unknown reason(s): ${unknown.join(', ')}; known: ${REASONS.join(', ')}`);
      const both = input.block.filter((r) => input.flag.includes(r));
      if (both.length) throw new DomainError('invalid', `a reason either blocks or flags, not both: ${both.join(', ')}`);
      let operatorId = DEFAULT_POLICY_ID;
      if (operator !== DEFAULT_POLICY_ID) {
        const org = await authRepository(deps.db).findOrg(operator);
        if (!org || org.kind !== 'operator') throw new DomainError('not_found', `operator "${operator}" does not exist`);
        operatorId = org.id;
      }
      const policy = { operatorId, block: [...new Set(input.block)] as Reason[], flag: [...new Set(input.flag)] as Reason[], enabled: input.enabled };
      await deps.db.transaction().execute(async (trx) => {
        await voiceRepository(trx).putPolicy(policy);
        await deps.audit.record(trx, ctx, { action: 'voice.policy.set', subjectType: 'policy', subject: operatorId, detail: { block: policy.block, flag: policy.flag, enabled: policy.enabled } });
        await deps.outbox.add(trx, 'voice.policies.changed', { operatorId });
      });
      return service.policy(operatorId);
    },

    listTrunks() {
      return repo().trunks();
    },

    async putTrunk(ctx: RequestContext, input: { id: string; name: string; operator?: string; addresses: string[]; ingress: Ingress }): Promise<TrunkRecord> {
      await requireRegulator(deps.db, ctx, 'configure trunks');
      const bad = input.addresses.filter((a) => {
        const [net = '', bits] = a.split('/');
        const family = isIP(net);
        return family === 0 || (bits !== undefined && Number(bits) > (family === 4 ? 32 : 128));
      });
      if (bad.length) throw new DomainError('invalid', `not an IP address or CIDR: ${bad.join(', ')}`);
      let operatorId: string | null = null;
      if (input.operator !== undefined) {
        const org = await authRepository(deps.db).findOrg(input.operator);
        if (!org || org.kind !== 'operator') throw new DomainError('not_found', `operator "${input.operator}" does not exist`);
        operatorId = org.id;
      }
      const trunk: TrunkRecord = { id: input.id, name: input.name, operatorId, addresses: input.addresses, ingress: input.ingress };
      await deps.db.transaction().execute(async (trx) => {
        await voiceRepository(trx).putTrunk(trunk);
        await deps.audit.record(trx, ctx, { action: 'voice.trunk.set', subjectType: 'trunk', subject: trunk.id, detail: { addresses: trunk.addresses, ingress: trunk.ingress } });
        await deps.outbox.add(trx, 'voice.trunks.changed', { id: trunk.id });
      });
      return trunk;
    },

    async deleteTrunk(ctx: RequestContext, id: string): Promise<void> {
      await requireRegulator(deps.db, ctx, 'configure trunks');
      await deps.db.transaction().execute(async (trx) => {
        if (!(await voiceRepository(trx).deleteTrunk(id))) throw new DomainError('not_found', `trunk "${id}" does not exist`);
        await deps.audit.record(trx, ctx, { action: 'voice.trunk.delete', subjectType: 'trunk', subject: id });
        await deps.outbox.add(trx, 'voice.trunks.changed', { id });
      });
    },

    /** Calls per day by verdict and reason: the caller's own as an operator, all operators' for the regulator. */
    async stats(ctx: RequestContext, from: string, to: string) {
      const org = await callerOrg(deps.db, ctx);
      const scope = regulates(ctx, org) ? null : (org?.id ?? null);
      if (!regulates(ctx, org) && !scope) throw new DomainError('forbidden', 'statistics are for operators and the regulator');
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
    },

    /** Loads the indexes and follows changes: fan-out events keep every instance's memory in step. */
    async start(): Promise<void> {
      await service.reload();
      const fanout = { fanout: true };
      subscriptions.push(
        await deps.bus.subscribe('voice-roaming', 'voice.roaming.changed', async (e) => {
          const changes = Array.isArray(e.payload.changes) ? (e.payload.changes as { msisdn: string; expiresAt: number | null }[]) : [];
          index.applyRoaming(changes);
        }, fanout),
        await deps.bus.subscribe('voice-lists', 'voice.lists.changed', () => index.loadLists(repo()), fanout),
        await deps.bus.subscribe('voice-policies', 'voice.policies.changed', () => index.loadPolicies(repo()), fanout),
        await deps.bus.subscribe('voice-trunks', 'voice.trunks.changed', () => index.loadTrunks(repo()), fanout),
        await deps.bus.subscribe('voice-intel-blocklist', 'intel.indicator.*', async (e) => {
          const p = e.payload;
          if (p.kind !== 'phone' || typeof p.value !== 'string') return;
          await service.applyBlocklistEvent('intel', p.value, e.topic === 'intel.indicator.published', typeof p.id === 'string' ? p.id : null);
        }),
        await deps.bus.subscribe('voice-traffic-blocklist', 'traffic.simbox.*', async (e) => {
          const p = e.payload;
          if (typeof p.msisdn !== 'string') return;
          await service.applyBlocklistEvent('traffic', p.msisdn, e.topic === 'traffic.simbox.confirmed', typeof p.caseId === 'string' ? p.caseId : null);
        }),
      );
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
