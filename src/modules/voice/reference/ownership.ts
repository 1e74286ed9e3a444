import type { Kysely } from 'kysely';
import type { OrgDirectory } from '../../../core/auth/directory.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { Change, RunChange } from '../../../core/changes.js';
import { isIsoDay } from '../../../core/days.js';
import { DomainError } from '../../../core/errors.js';
import type { Ingest, IngestReport, UploadOptions } from '../../../core/ingest/service.js';
import type { Logger } from '../../../core/logger.js';
import { requireNationalData, requireVoiceActor, voicePolicy } from '../policy.js';
import { rangeHolderLookup, type VoiceIndex } from '../screening/voice-index.js';
import type { VoiceTables } from '../tables.js';
import { kazakhNumber } from './numbers.js';
import { portedRepository, type RefusedHolders } from './ported-repository.js';
import { referenceRepository } from './repository.js';

export interface OwnershipDeps {
  db: Kysely<VoiceTables>;
  run: RunChange<VoiceTables>;
  orgs: OrgDirectory;
  index: VoiceIndex;
  logger: Logger;
  ingest: Ingest;
}

/** Refused lines a merge reports by line per slice; the import's report lists the first 100 in all. */
const LISTED_REFUSALS = 100;

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
    async importPorted(ctx: RequestContext, opts: UploadOptions): Promise<IngestReport> {
      requireVoiceActor(ctx);
      // Every operator, by name and by id, read before the import begins: each row's operator is resolved as it is read.
      const operators = new Map<string, string>();
      for (const org of await deps.orgs.operators()) operators.set(org.name, org.id).set(org.id, org.id);
      const report = await deps.ingest.run<Change<VoiceTables>>({
        kind: 'voice.ported',
        ctx,
        input: opts.input,
        importId: opts.importId,
        format: 'csv',
        columns: ['msisdn', 'operator', 'portedat'],
        staging: [
          { name: 'msisdn', type: 'text' },
          { name: 'operator_id', type: 'uuid' },
          { name: 'ported_at', type: 'timestamptz' },
        ],
        // A number's lines merge together: the later line wins.
        sliceKey: 'msisdn',
        transaction: (work) => deps.run(ctx, work),
        onProgress: opts.onProgress,
        parseRow(row) {
          const number = kazakhNumber(String(row.msisdn ?? ''), true);
          if ('error' in number) return { ok: false, error: `msisdn: ${number.error}` };
          const operator = String(row.operator ?? '').trim();
          if (!operator) return { ok: false, error: 'operator is empty' };
          const text = String(row.portedat ?? '').trim();
          const portedAt = new Date(text);
          if (Number.isNaN(portedAt.getTime()) || !isIsoDay(text.slice(0, 10))) return { ok: false, error: 'portedAt must be an ISO 8601 date or date-time' };
          const operatorId = operators.get(operator);
          if (!operatorId) return { ok: false, error: `operator "${operator}" is not a known operator organisation` };
          return { ok: true, value: [number.e164, operatorId, portedAt] };
        },
        async merge(change, source) {
          const repo = portedRepository(change.db);
          // Who holds each number now (the donor) decides whether the caller may record its port: the policy is asked
          // once per holder, and the rows of the holders it refuses are rejected.
          const refused: RefusedHolders = { none: false, operators: [] };
          let refusedRows = 0;
          for (const { holder, rows } of await repo.stagedHolders(source)) {
            if (voicePolicy.recordPort(ctx.principal, holder ?? undefined)) continue;
            refusedRows += rows;
            if (holder === null) refused.none = true;
            else refused.operators.push(holder);
          }
          if (!refusedRows) return repo.upsertStaged(source, null);
          const lines = await repo.refusedLines(source, refused, LISTED_REFUSALS);
          await repo.upsertStaged(source, refused);
          // Only the first refused lines come back with their reasons (the report lists no more); the rest are counted.
          const first = lines.map(({ line, holder }) => ({
            line,
            message:
              holder === null
                ? 'no operator holds this number on record; only the regulator records its port'
                : 'the number is held by another operator: an operator records only ports of numbers it holds',
          }));
          return { first, count: refusedRows };
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
