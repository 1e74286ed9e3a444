import type { RequestContext } from '../../../core/auth/principal.js';
import type { Change, RunChange } from '../../../core/changes.js';
import { DomainError } from '../../../core/errors.js';
import type { Ingest, IngestReport, UploadOptions } from '../../../core/ingest/service.js';
import { parseImei, toImei15 } from '../../../identifiers/imei.js';
import { STATUS_BLACK, type EirChange } from '../eir/status.js';
import { devicesPolicy, requireAllowed } from '../policy.js';
import type { DevicesTables } from '../tables.js';
import { networkRepository } from './repository.js';
import { announceStatuses, EVENT_IMEI_LIMIT, importedStatuses, type StatusChangeDeps } from './status-changes.js';
import { stolenRepository } from './stolen-repository.js';

export interface BlocksDeps extends StatusChangeDeps {
  run: RunChange<DevicesTables>;
  ingest: Ingest;
}

function strictImei(imei: string): string {
  const parsed = parseImei(imei.trim());
  if (!parsed.ok || parsed.kind === 'imei14')
    throw new DomainError('invalid', `"${imei}" is not a valid IMEI (15 digits with its check digit, or an IMEISV of 16)`, {
      reason: parsed.ok ? 'bad_length' : parsed.reason,
    });
  return parsed.imei14;
}

const field = (row: Record<string, unknown>, name: string) => String(row[name] ?? '').trim();

/** Lost and stolen blocks (police and the regulator, and the lists of the GSMA and partner countries) and blocking orders. */
export function createBlocks(deps: BlocksDeps) {
  return {
    /** Blocks an IMEI on every network (idempotent: blocking a blocked IMEI changes nothing). */
    async block(ctx: RequestContext, input: { imei: string; caseNumber: string }) {
      const source = devicesPolicy.blockSource(ctx.principal);
      if (!source) throw new DomainError('forbidden', 'only the police and the regulator block lost and stolen phones');
      const imei14 = strictImei(input.imei);
      // The answer is read inside the transaction: once it commits nothing is left to fail, so a committed block is
      // never answered with an error (and a retry of one whose answer was lost answers 200 alreadyBlocked).
      const { created, current, change } = await deps.run(ctx, async (c) => {
        const repo = networkRepository(c.db);
        const inserted = await repo.insertStolen({ imei14, caseNumber: input.caseNumber, source, orgId: ctx.principal.orgId });
        let announced: EirChange | null = null;
        if (inserted) {
          await c.audit({ action: 'devices.imei.block', subjectType: 'imei', subject: toImei15(imei14), detail: { caseNumber: input.caseNumber } });
          announced = await announceStatuses(c.db, deps, [imei14], STATUS_BLACK);
          await c.publish('devices.imei.blocked', { imei14, caseNumber: input.caseNumber, orgId: ctx.principal.orgId, ...announced });
        }
        return { created: inserted, current: await repo.findStolen(imei14), change: announced };
      });
      if (change) deps.eir.apply(change);
      if (!created && current && !devicesPolicy.seesBlock(ctx.principal, { orgId: current.org_id })) {
        throw new DomainError('conflict', 'this IMEI is already blocked by another organisation (its case is not yours to see); nothing was changed');
      }
      return {
        imei: toImei15(imei14),
        caseNumber: current?.case_number ?? input.caseNumber,
        blockedAt: current?.blocked_at ?? new Date(),
        alreadyBlocked: !created,
      };
    },

    async unblock(ctx: RequestContext, imei: string) {
      const imei14 = strictImei(imei);
      const { removed, change } = await deps.run(ctx, async (c) => {
        const repo = networkRepository(c.db);
        const current = await repo.lockStolen(imei14);
        if (!current) return { removed: null, change: null };
        requireAllowed(
          devicesPolicy.unblock(ctx.principal, { orgId: current.org_id }),
          'a block is lifted only by the organisation that made it or by the regulator',
        );
        const r = await repo.deleteStolen(imei14, ctx.principal.orgId);
        if (!r) return { removed: r, change: null };
        await c.audit({ action: 'devices.imei.unblock', subjectType: 'imei', subject: toImei15(imei14), detail: { caseNumber: r.caseNumber } });
        const announced = await announceStatuses(c.db, deps, [imei14]);
        await c.publish('devices.imei.unblocked', { imei14, ...announced });
        return { removed: r, change: announced };
      });
      if (change) deps.eir.apply(change);
      if (!removed) throw new DomainError('not_found', `IMEI ${imei} is not blocked`);
    },

    /** A court or regulator order blocks an IMEI on every network (idempotent). */
    async order(ctx: RequestContext, input: { imei: string; orderRef: string }) {
      requireAllowed(devicesPolicy.nationalData(ctx.principal), 'only the regulator may issue or lift blocking orders');
      const imei14 = strictImei(input.imei);
      const { created, change } = await deps.run(ctx, async (c) => {
        const inserted = await networkRepository(c.db).insertOrder(imei14, input.orderRef);
        if (!inserted) return { created: false, change: null };
        await c.audit({ action: 'devices.imei.order', subjectType: 'imei', subject: toImei15(imei14), detail: { orderRef: input.orderRef } });
        const announced = await announceStatuses(c.db, deps, [imei14], STATUS_BLACK);
        await c.publish('devices.imei.ordered', { imei14, orderRef: input.orderRef, ...announced });
        return { created: true, change: announced };
      });
      if (change) deps.eir.apply(change);
      return { imei: toImei15(imei14), orderRef: input.orderRef, alreadyOrdered: !created };
    },

    async liftOrder(ctx: RequestContext, imei: string) {
      requireAllowed(devicesPolicy.nationalData(ctx.principal), 'only the regulator may issue or lift blocking orders');
      const imei14 = strictImei(imei);
      const { lifted, change } = await deps.run(ctx, async (c) => {
        const ref = await networkRepository(c.db).deleteOrder(imei14);
        if (!ref) return { lifted: null, change: null };
        await c.audit({ action: 'devices.imei.order.lift', subjectType: 'imei', subject: toImei15(imei14), detail: { orderRef: ref } });
        const announced = await announceStatuses(c.db, deps, [imei14]);
        await c.publish('devices.imei.order-lifted', { imei14, ...announced });
        return { lifted: ref, change: announced };
      });
      if (change) deps.eir.apply(change);
      if (!lifted) throw new DomainError('not_found', `IMEI ${imei} has no blocking order`);
    },

    /** CSV `imei[,reference]`: lost and stolen lists from the GSMA or partner countries; the regulator imports them. */
    async importStolen(ctx: RequestContext, opts: UploadOptions & { source: string; maxMalformedShare?: number }): Promise<IngestReport> {
      requireAllowed(devicesPolicy.nationalData(ctx.principal), 'lost and stolen lists of the GSMA and partner countries are imported by the regulator');
      const changed = importedStatuses(deps);
      const report = await deps.ingest.run<Change<DevicesTables>>({
        kind: 'devices.stolen',
        ctx,
        orgId: null,
        input: opts.input,
        importId: opts.importId,
        format: 'csv',
        columns: ['imei'],
        staging: [
          { name: 'imei14', type: 'char(14)' },
          { name: 'reference', type: 'text' },
        ],
        transaction: (work) => deps.run(ctx, work),
        maxMalformedShare: opts.maxMalformedShare ?? 0.01,
        sliceKey: 'imei14',
        parseRow: (row) => {
          const parsed = parseImei(field(row, 'imei'), { network: true });
          return parsed.ok
            ? { ok: true, value: [parsed.imei14, field(row, 'reference') || `${opts.source} list`] }
            : { ok: false, error: `imei: ${parsed.reason}` };
        },
        merge: async (c, source) => {
          // Queued for classification in SQL; only enough of the newly blocked IMEIs come back to be named in the event.
          const blocked = await stolenRepository(c.db).blockStaged(source, opts.source, EVENT_IMEI_LIMIT + 1);
          changed.queued(blocked.first, blocked.total);
        },
        finish: async (c, report) => {
          await c.audit({ action: 'devices.stolen.import', subjectType: 'imei', detail: { source: opts.source, rows: report.accepted } });
          await c.publish('devices.imei.blocked', await changed.payload(c.db));
        },
        onProgress: opts.onProgress,
      });
      return changed.applied(report);
    },
  };
}
