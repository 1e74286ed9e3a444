import type { Kysely } from 'kysely';
import { systemContext, type RequestContext } from '../../../core/auth/principal.js';
import type { RunChange } from '../../../core/changes.js';
import { DomainError } from '../../../core/errors.js';
import type { EventBus, Subscription } from '../../../core/events/bus.js';
import type { Logger } from '../../../core/logger.js';
import { maskMsisdn, parseMsisdn } from '../../../identifiers/msisdn.js';
import { requireNationalData } from '../policy.js';
import type { VoiceIndex } from '../screening/voice-index.js';
import type { VoiceTables } from '../tables.js';
import { dnoKey } from './numbers.js';
import { referenceRepository } from './repository.js';

export interface ListsDeps {
  db: Kysely<VoiceTables>;
  run: RunChange<VoiceTables>;
  index: VoiceIndex;
  logger: Logger;
}

/** The topics that list (true) or unlist (false) a number; others under intel.indicator.* and traffic.simbox.* change nothing. */
const BLOCKLIST_TOPICS: Record<string, boolean> = {
  'intel.indicator.published': true,
  'intel.indicator.withdrawn': false,
  'traffic.simbox.confirmed': true,
  'traffic.simbox.cleared': false,
};

/** Blocklist changes follow other modules' events: the system's work, with the event as its record. */
const BLOCKLIST = systemContext('voice blocklist');

/** The do-not-originate list (the regulator's) and the blocklist fed by intel's and traffic's events. */
export function listsService(deps: ListsDeps) {
  const { index } = deps;
  const repo = referenceRepository(deps.db);
  const service = {
    async addDoNotOriginate(ctx: RequestContext, entries: { number: string; label: string }[]): Promise<{ added: string[] }> {
      requireNationalData(ctx.principal, 'change the do-not-originate list');
      const normalised = entries.map((e) => {
        const msisdn = dnoKey(e.number);
        if (msisdn === null) throw new DomainError('invalid', `"${e.number}" is neither a phone number nor a 3–6 digit short code`);
        return { msisdn, label: e.label };
      });
      const unique = [...new Map(normalised.map((n) => [n.msisdn, n])).values()];
      await deps.run(ctx, async (change) => {
        await referenceRepository(change.db).addDno(unique, ctx.principal.orgId);
        await change.audit({ action: 'voice.dno.add', subjectType: 'dno', detail: { numbers: unique.map((n) => n.msisdn) } });
        await change.publish('voice.lists.changed', { list: 'dno', numbers: unique.map((n) => n.msisdn), listed: true });
      });
      index.applyList(
        'dno',
        unique.map((n) => n.msisdn),
        true,
      );
      return { added: unique.map((n) => n.msisdn) };
    },

    async removeDoNotOriginate(ctx: RequestContext, number: string): Promise<void> {
      requireNationalData(ctx.principal, 'change the do-not-originate list');
      const key = dnoKey(number) ?? number;
      await deps.run(ctx, async (change) => {
        if (!(await referenceRepository(change.db).removeDno(key))) throw new DomainError('not_found', `${key} is not on the do-not-originate list`);
        await change.audit({ action: 'voice.dno.remove', subjectType: 'dno', subject: key });
        await change.publish('voice.lists.changed', { list: 'dno', numbers: [key], listed: false });
      });
      index.applyList('dno', [key], false);
    },

    listDoNotOriginate() {
      return repo.listDno();
    },

    /** Adds or removes a blocklisted number as published by intel or traffic (shared work: one instance per event). */
    async applyBlocklistEvent(source: string, number: string, listed: boolean, reference: string | null): Promise<void> {
      const parsed = parseMsisdn(number);
      if (!parsed.ok) {
        deps.logger.warn({ source, number: maskMsisdn(number) }, 'voice: ignoring a blocklist event without a valid number');
        return;
      }
      await deps.run(BLOCKLIST, async (change) => {
        const r = referenceRepository(change.db);
        if (listed) await r.upsertBlocklisted(parsed.e164, source, reference);
        else await r.removeBlocklisted(parsed.e164);
        await change.publish('voice.lists.changed', { list: 'blocklist', numbers: [parsed.e164], listed });
      });
      index.applyList('blocklist', [parsed.e164], listed);
    },

    /** Follows intel's phone indicators and traffic's SIM-box cases into the blocklist. */
    async followBlocklistEvents(bus: EventBus): Promise<Subscription[]> {
      return [
        await bus.subscribe('voice-intel-blocklist', 'intel.indicator.*', async (e) => {
          const p = e.payload;
          const listed = BLOCKLIST_TOPICS[e.topic];
          if (listed === undefined || p.kind !== 'phone' || typeof p.value !== 'string') return;
          await service.applyBlocklistEvent('intel', p.value, listed, typeof p.id === 'string' ? p.id : null);
        }),
        await bus.subscribe('voice-traffic-blocklist', 'traffic.simbox.*', async (e) => {
          const p = e.payload;
          const listed = BLOCKLIST_TOPICS[e.topic];
          if (listed === undefined || typeof p.msisdn !== 'string') return;
          await service.applyBlocklistEvent('traffic', p.msisdn, listed, typeof p.caseId === 'string' ? p.caseId : null);
        }),
      ];
    },
  };
  return service;
}
