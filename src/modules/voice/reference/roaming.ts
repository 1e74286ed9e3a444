import type { RequestContext } from '../../../core/auth/principal.js';
import type { RunChange } from '../../../core/changes.js';
import { DomainError } from '../../../core/errors.js';
import { maskMsisdn } from '../../../identifiers/msisdn.js';
import { requireVoiceActor, voicePolicy } from '../policy.js';
import type { VoiceIndex } from '../screening/voice-index.js';
import type { VoiceTables } from '../tables.js';
import { kazakhNumber } from './numbers.js';
import { homeOperators } from './ownership.js';
import { referenceRepository } from './repository.js';
import { MAX_ROAMING_BATCH, type RoamingEntry, type RoamingRow, type RowOutcome } from './schema.js';

export interface RoamingDeps {
  run: RunChange<VoiceTables>;
  index: VoiceIndex;
  clock: () => Date;
  /** How long a roaming report holds unless refreshed. */
  roamingTtlMs: number;
}

/** Subscribers abroad, as their home operators report them. */
export function roamingService(deps: RoamingDeps) {
  return {
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
      const up: RoamingRow[] = [];
      const down: string[] = [];
      await deps.run(ctx, async (change) => {
        const r = referenceRepository(change.db);
        const home = await homeOperators(
          change.db,
          valid.map((v) => v.e164),
        );
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
        await change.audit({
          action: 'voice.roaming.update',
          subjectType: 'roaming',
          detail: { abroad: up.length, home: down.length, rejected: results.length - changed.length },
        });
        if (changed.length) await change.publish('voice.roaming.changed', { msisdns: changed });
      });
      deps.index.applyRoaming(up, down);
      results.sort((a, b) => a.index - b.index);
      return { accepted: changed.length, rejected: results.length - changed.length, results };
    },
  };
}
