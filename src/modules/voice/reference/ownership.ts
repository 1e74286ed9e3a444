import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { OrgDirectory } from '../../../core/auth/directory.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { Change, RunChange } from '../../../core/changes.js';
import { isIsoDay } from '../../../core/days.js';
import { DomainError } from '../../../core/errors.js';
import { runImportIn, type ImportReport } from '../../../core/imports/csv-import.js';
import type { Logger } from '../../../core/logger.js';
import { requireNationalData, requireVoiceActor, voicePolicy } from '../policy.js';
import { rangeHolderLookup, type VoiceIndex } from '../screening/voice-index.js';
import type { VoiceTables } from '../tables.js';
import { kazakhNumber } from './numbers.js';
import { referenceRepository } from './repository.js';

import type { Ingest } from '../../../core/ingest/service.js';

export interface OwnershipDeps {
  db: Kysely<VoiceTables>;
  run: RunChange<VoiceTables>;
  orgs: OrgDirectory;
  index: VoiceIndex;
  logger: Logger;
  ingest: Ingest;
}

/** The home operator of each number, from the database: the ported-to operator, else the range holder. */
export async function homeOperators(db: Kysely<VoiceTables>, e164s: string[]): Promise<Map<string, string>> {
  const r = referenceRepository(db);
  const ported = await r.portedOperators(e164s);
  const holderOf = rangeHolderLookup(await r.rangeHolders());
  const home = new Map<string, string>();
  for (const n of e164s) {
    const owner = ported.get(n) ?? holderOf(n);
    if (owner) home.set(n, owner);
  }
  return home;
}

/** Whose numbers are whose: the range holders (the regulator's) and the ported-numbers register. */
export function ownershipService(deps: OwnershipDeps) {
  const { index } = deps;
  const repo = referenceRepository(deps.db);
  return {
    /** Which operator holds a number range (national-number prefix, e.g. `701`): the home operator of its numbers. */
    async putRangeHolder(ctx: RequestContext, prefix: string, operator: string): Promise<{ prefix: string; operatorId: string }> {
      requireNationalData(ctx.principal, 'assign number ranges');
      if (!/^7[0-9]{1,6}$/.test(prefix))
        throw new DomainError('invalid', 'prefix must be the start of a Kazakh national number: 7 and 1–6 more digits, e.g. 701');
      const operatorId = await deps.orgs.requireOperatorId(operator);
      await deps.run(ctx, async (change) => {
        await referenceRepository(change.db).putRangeHolder(prefix, operatorId);
        await change.audit({ action: 'voice.range.assign', subjectType: 'range', subject: prefix, detail: { operatorId } });
        await change.publish('voice.ownership.changed', { prefix });
      });
      index.setRangeHolder(prefix, operatorId);
      return { prefix, operatorId };
    },

    async deleteRangeHolder(ctx: RequestContext, prefix: string): Promise<void> {
      requireNationalData(ctx.principal, 'assign number ranges');
      await deps.run(ctx, async (change) => {
        if (!(await referenceRepository(change.db).deleteRangeHolder(prefix))) throw new DomainError('not_found', `range ${prefix} has no holder`);
        await change.audit({ action: 'voice.range.unassign', subjectType: 'range', subject: prefix });
        await change.publish('voice.ownership.changed', { prefix });
      });
      index.setRangeHolder(prefix, null);
    },

    listRangeHolders() {
      return repo.rangeHolders();
    },

    /** Ported numbers, CSV `msisdn,operator,portedAt` (operator by organisation name or id): an upsert, atomic. */
    async importPorted(ctx: RequestContext, opts: { input: Readable; onProgress?: (rows: number) => void }): Promise<ImportReport> {
      requireVoiceActor(ctx);
      // Every operator, by name and by id, read before the import's transaction begins (the embedded database
      // answers one connection at a time: a read beside an open transaction would wait for it).
      const operators = new Map<string, string>();
      for (const org of await deps.orgs.operators()) operators.set(org.name, org.id).set(org.id, org.id);
      const resolve = (name: string) => operators.get(name) ?? null;
      const report = await runImportIn<{ msisdn: string; operator: string; portedAt: Date }, Change<VoiceTables>>({
        input: opts.input,
        columns: ['msisdn', 'operator', 'portedat'],
        transaction: (work) => deps.run(ctx, work),
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
        async writeBatch(change, batch) {
          const errors: { line: number; message: string }[] = [];
          const r = referenceRepository(change.db);
          const onRecord = await r.portedOperators(batch.map((l) => l.value.msisdn));
          const rangeHolderOf = rangeHolderLookup(await r.rangeHolders());
          // A number listed twice in one batch: the later line wins.
          const rows = new Map<string, { msisdn: string; operatorId: string; portedAt: Date }>();
          for (const { line, value } of batch) {
            const operatorId = resolve(value.operator);
            // Who holds the number now (the donor): the operator it is ported to, else its range holder.
            const holder = onRecord.get(value.msisdn) ?? rangeHolderOf(value.msisdn);
            if (!operatorId) errors.push({ line, message: `operator "${value.operator}" is not a known operator organisation` });
            else if (!voicePolicy.recordPort(ctx.principal, holder))
              errors.push({
                line,
                message:
                  holder === undefined
                    ? 'no operator holds this number on record; only the regulator records its port'
                    : 'the number is held by another operator: an operator records only ports of numbers it holds',
              });
            else rows.set(value.msisdn, { msisdn: value.msisdn, operatorId, portedAt: value.portedAt });
          }
          await r.upsertPorted([...rows.values()]);
          return errors;
        },
        async finish(change, r) {
          await change.audit({ action: 'voice.ported.import', subjectType: 'ported', detail: { rows: r.rows, accepted: r.accepted, rejected: r.rejected } });
          if (r.accepted > 0) await change.publish('voice.ownership.changed', { ported: r.accepted });
        },
      });
      // The register may be large: this instance re-reads it now (as every instance does on the event) rather than
      // holding the import's rows; if that read fails the import still stands, and the event or the reload follows.
      if (report.committed && report.accepted > 0) {
        await index
          .loadOwnership(repo)
          .catch((err: unknown) => deps.logger.warn({ err }, 'voice: re-reading ownership after a ported import failed; the event will'));
      }
      return report;
    },

    async portedCount(): Promise<number> {
      return repo.portedCount();
    },
  };
}
