import type { Kysely } from 'kysely';
import type { OrgDirectory } from '../../../core/auth/directory.js';
import { systemContext, type RequestContext } from '../../../core/auth/principal.js';
import type { RunChange } from '../../../core/changes.js';
import { isIsoDay } from '../../../core/days.js';
import { DomainError, listed } from '../../../core/errors.js';
import { requireVoiceActor, voicePolicy } from '../policy.js';
import type { VoiceTables } from '../tables.js';
import type { VoiceCounters } from './counters.js';
import { screeningRepository } from './repository.js';
import { DEFAULT_POLICY_ID, MAX_BATCH, REASONS, type CallToScreen, type DayStats, type IdentityCheck, type Reason, type ScreeningResult } from './schema.js';
import { DEFAULT_POLICY, screenCall } from './verdicts.js';
import type { VoiceIndex } from './voice-index.js';

export interface IdentityVerifier {
  verify(identity: string | undefined, call: { orig: string; dest: string }): Promise<IdentityCheck>;
  /** Re-reads the certificate store. */
  reload(): Promise<void>;
}

export interface ScreeningServiceDeps {
  /** The voice tables. */
  db: Kysely<VoiceTables>;
  run: RunChange<VoiceTables>;
  orgs: OrgDirectory;
  index: VoiceIndex;
  counters: VoiceCounters;
  clock: () => Date;
  /** The clock in milliseconds, read on every screened call. */
  now: () => number;
  verifier?: IdentityVerifier;
}

/** Counter flushes are the system's work (nothing audited: their rows and sampled events are the record). */
const COUNTERS = systemContext('voice counters');

/** Call screening: verdicts from the in-memory index, the policies that decide them (with the kill switch), statistics. */
export function createScreeningService(deps: ScreeningServiceDeps) {
  const { index } = deps;
  const repo = screeningRepository(deps.db);

  /**
   * Whose policy a caller may read or set: an operator its own (it decides, as the receiving operator, which reasons
   * block or flag its calls, e.g. during an incident); the regulator any operator's and the default (`*`).
   */
  async function policyTarget(ctx: RequestContext, operator: string, what: 'read' | 'set'): Promise<string> {
    requireVoiceActor(ctx);
    const target = operator === DEFAULT_POLICY_ID ? DEFAULT_POLICY_ID : await deps.orgs.requireOperatorId(operator);
    if (!voicePolicy.screeningPolicy(ctx.principal, target)) {
      throw new DomainError(
        'forbidden',
        `${target === DEFAULT_POLICY_ID ? 'the default policy * is the regulator’s: ' : ''}an operator may ${what} only its own screening policy`,
      );
    }
    return target;
  }

  function finish(call: CallToScreen, operatorId: string | null, identity: IdentityCheck | null): ScreeningResult {
    const result = screenCall(call, index, index.policyFor(operatorId), identity);
    // Only configured trunks become metric labels: a client-chosen trunkId must not grow the series without bound.
    const trunk = call.trunkId === undefined ? 'api' : index.isTrunk(call.trunkId) ? call.trunkId : 'unconfigured';
    deps.counters.record(call, result, operatorId, deps.now(), trunk);
    return result;
  }

  const service = {
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

    async policy(
      ctx: RequestContext,
      operator: string,
    ): Promise<{ operatorId: string; block: Reason[]; flag: Reason[]; enabled: boolean; isDefault: boolean }> {
      const operatorId = await policyTarget(ctx, operator, 'read');
      const all = await repo.policies();
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
      await deps.run(ctx, async (change) => {
        await screeningRepository(change.db).putPolicy(policy);
        await change.audit({
          action: 'voice.policy.set',
          subjectType: 'policy',
          subject: operatorId,
          detail: { block: policy.block, flag: policy.flag, enabled: policy.enabled },
        });
        await change.publish('voice.policies.changed', { operatorId });
      });
      index.setPolicy(policy);
      // Answered from what was committed: a second read could fail (database restarting) after the write stood.
      return { ...policy, isDefault: false };
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
      const rows = await repo.stats(from, to, scope);
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

    /** Adds the counted calls to the day table and publishes the sampled blocked calls. */
    async flush(): Promise<void> {
      await deps.counters.flush((work) => deps.run(COUNTERS, work));
    },
  };
  return service;
}

export type ScreeningService = ReturnType<typeof createScreeningService>;
