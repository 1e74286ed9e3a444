import type { Readable } from 'node:stream';
import type { AuditService } from '../../../core/audit/service.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { Executor } from '../../../core/db/database.js';
import type { RegistrationSource } from '../tables.js';
import type { OrgDirectory } from '../../../core/auth/directory.js';
import { DomainError } from '../../../core/errors.js';
import type { Outbox } from '../../../core/events/outbox.js';
import { parseImei, toImei15 } from '../../../identifiers/imei.js';
import { parsePei } from '../../../identifiers/pei.js';
import { imsiOfSupi } from '../../../identifiers/supi.js';
import type { Eir, EirChange, EquipmentStatus } from '../eir/eir.js';
import { queueClassification, statusesOf } from '../network/classification.js';
import { STATUS_BLACK, type StatusCode } from '../eir/packed-index.js';
import { importRegistrations, importStolen, importTacs } from './imports.js';
import { devicesPolicy, sees } from '../policy.js';
import { registerBatch, REJECT_TEXT } from './registration.js';
import { devicesReadRepository, devicesRepository } from './repository.js';

export interface DevicesServiceDeps {
  db: Executor;
  orgs: OrgDirectory;
  audit: AuditService;
  outbox: Outbox;
  eir: Eir;
  clock?: () => Date;
}

export type EirOutcome = { status: EquipmentStatus } | { unknownTac: string } | { badPei: true };

export type PublicStatus = 'registered' | 'unregistered' | 'blocked';

/** The IMEI registry: TAC database, registrations, lost and stolen blocks, and the checks that answer from them. */
export function createDevicesService(deps: DevicesServiceDeps) {
  const clock = deps.clock ?? (() => new Date());
  const importDeps = { db: deps.db, audit: deps.audit, outbox: deps.outbox, eir: deps.eir, clock };

  /**
   * In the writer's transaction: these IMEIs owe a classification, and the change announcing their new EIR statuses
   * goes into the event; the writer applies it to its own index right after the commit (read your own writes).
   */
  async function announce(trx: Executor, imei14s: string[], known?: StatusCode): Promise<EirChange> {
    await queueClassification(trx, imei14s);
    // A block or an order makes a device black whatever else holds: no need to ask the classification.
    return deps.eir.change(known === undefined ? await statusesOf(trx, clock, imei14s) : imei14s.map((imei14) => [imei14, known]));
  }

  /** Refuses, with who may, unless the policy allows. */
  function allow(allowed: boolean, who: string): void {
    if (!allowed) throw new DomainError('forbidden', who);
  }

  function strictImei(imei: string): string {
    const parsed = parseImei(imei.trim());
    if (!parsed.ok || parsed.kind === 'imei14') throw new DomainError('invalid', `"${imei}" is not a valid IMEI (15 digits with its check digit, or an IMEISV of 16)`, { reason: parsed.ok ? 'bad_length' : parsed.reason });
    return parsed.imei14;
  }

  return {
    async importTacs(ctx: RequestContext, opts: { input: Readable; delta: boolean; onProgress?: (rows: number) => void }) {
      allow(devicesPolicy.nationalData(ctx.principal), 'the TAC database is the regulator’s: only the regulator imports it');
      return importTacs(importDeps, ctx, opts);
    },
    /** Bulk registration for an importer; `orgId` defaults to the caller's organisation. */
    async importRegistrations(ctx: RequestContext, opts: { input: Readable; orgId?: string; onProgress?: (rows: number) => void }) {
      allow(devicesPolicy.importRegistrations(ctx.principal), 'registration files of importers and customs are uploaded by the regulator');
      const orgId = opts.orgId ?? ctx.principal.orgId;
      if (!orgId) throw new DomainError('invalid', 'name the importer organisation the registrations are made for');
      return importRegistrations(importDeps, ctx, { ...opts, orgId });
    },
    async importStolen(ctx: RequestContext, opts: { input: Readable; source: string; onProgress?: (rows: number) => void }) {
      allow(devicesPolicy.nationalData(ctx.principal), 'lost and stolen lists of the GSMA and partner countries are imported by the regulator');
      return importStolen(importDeps, ctx, opts);
    },

    async getTac(tac: string) {
      const found = await devicesRepository(deps.db).findTac(tac);
      if (!found) throw new DomainError('not_found', `TAC ${tac} is not in the TAC database`);
      return found;
    },

    async register(ctx: RequestContext, input: { imeis: string[]; source: RegistrationSource; reference: string | null }) {
      allow(devicesPolicy.register(ctx.principal, input.source), `operators register with source individual or service_centre; source ${input.source} is the regulator’s`);
      const orgId = ctx.principal.orgId;
      const { outcomes, change } = await deps.db.transaction().execute(async (trx) => {
        const result = await registerBatch(trx, input.imeis.map((imei, at) => ({ at, imei, reference: input.reference })), input.source, orgId);
        const registered = result.filter((o) => o.result === 'registered').map((o) => o.imei14!);
        if (!registered.length) return { outcomes: result, change: null };
        await deps.audit.record(trx, ctx, { action: 'devices.register', subjectType: 'imei', detail: { source: input.source, registered: registered.length, rejected: result.length - registered.length } });
        const announced = await announce(trx, registered);
        await deps.outbox.add(trx, 'devices.imei.registered', { imei14s: registered, ...announced });
        return { outcomes: result, change: announced };
      });
      if (change) deps.eir.apply(change);
      return outcomes.map((o) => (o.result === 'registered' ? { imei: o.imei, result: o.result } : { imei: o.imei, result: o.result, reason: o.reason, detail: REJECT_TEXT[o.reason] }));
    },

    /** Blocks an IMEI on every network (idempotent: blocking a blocked IMEI changes nothing). */
    async block(ctx: RequestContext, input: { imei: string; caseNumber: string }) {
      const source = devicesPolicy.blockSource(ctx.principal);
      if (!source) throw new DomainError('forbidden', 'only the police and the regulator block lost and stolen phones');
      const imei14 = strictImei(input.imei);
      // The answer is read inside the transaction: once it commits nothing is left to fail, so a committed block is
      // never answered with an error (and a retry of one whose answer was lost answers 200 alreadyBlocked).
      const { created, current, change } = await deps.db.transaction().execute(async (trx) => {
        const repo = devicesRepository(trx);
        const inserted = await repo.insertStolen({ imei14, caseNumber: input.caseNumber, source, orgId: ctx.principal.orgId });
        let announced: EirChange | null = null;
        if (inserted) {
          await deps.audit.record(trx, ctx, { action: 'devices.imei.block', subjectType: 'imei', subject: toImei15(imei14), detail: { caseNumber: input.caseNumber } });
          announced = await announce(trx, [imei14], STATUS_BLACK);
          await deps.outbox.add(trx, 'devices.imei.blocked', { imei14, caseNumber: input.caseNumber, orgId: ctx.principal.orgId, ...announced });
        }
        return { created: inserted, current: await repo.findStolen(imei14), change: announced };
      });
      if (change) deps.eir.apply(change);
      if (!created && current && !devicesPolicy.seesBlock(ctx.principal, { orgId: current.org_id })) {
        throw new DomainError('conflict', 'this IMEI is already blocked by another organisation (its case is not yours to see); nothing was changed');
      }
      return { imei: toImei15(imei14), caseNumber: current?.case_number ?? input.caseNumber, blockedAt: current?.blocked_at ?? new Date(), alreadyBlocked: !created };
    },

    async unblock(ctx: RequestContext, imei: string) {
      const imei14 = strictImei(imei);
      const { removed, change } = await deps.db.transaction().execute(async (trx) => {
        const repo = devicesRepository(trx);
        const current = await repo.lockStolen(imei14);
        if (!current) return { removed: null, change: null };
        allow(devicesPolicy.unblock(ctx.principal, { orgId: current.org_id }), 'a block is lifted only by the organisation that made it or by the regulator');
        const r = await repo.deleteStolen(imei14, ctx.principal.orgId);
        if (!r) return { removed: r, change: null };
        await deps.audit.record(trx, ctx, { action: 'devices.imei.unblock', subjectType: 'imei', subject: toImei15(imei14), detail: { caseNumber: r.caseNumber } });
        const announced = await announce(trx, [imei14]);
        await deps.outbox.add(trx, 'devices.imei.unblocked', { imei14, ...announced });
        return { removed: r, change: announced };
      });
      if (change) deps.eir.apply(change);
      if (!removed) throw new DomainError('not_found', `IMEI ${imei} is not blocked`);
    },

    /** A court or regulator order blocks an IMEI on every network (idempotent). */
    async order(ctx: RequestContext, input: { imei: string; orderRef: string }) {
      allow(devicesPolicy.nationalData(ctx.principal), 'only the regulator may issue or lift blocking orders');
      const imei14 = strictImei(input.imei);
      const { created, change } = await deps.db.transaction().execute(async (trx) => {
        const inserted = await devicesRepository(trx).insertOrder(imei14, input.orderRef);
        if (!inserted) return { created: false, change: null };
        await deps.audit.record(trx, ctx, { action: 'devices.imei.order', subjectType: 'imei', subject: toImei15(imei14), detail: { orderRef: input.orderRef } });
        const announced = await announce(trx, [imei14], STATUS_BLACK);
        await deps.outbox.add(trx, 'devices.imei.ordered', { imei14, orderRef: input.orderRef, ...announced });
        return { created: true, change: announced };
      });
      if (change) deps.eir.apply(change);
      return { imei: toImei15(imei14), orderRef: input.orderRef, alreadyOrdered: !created };
    },

    async liftOrder(ctx: RequestContext, imei: string) {
      allow(devicesPolicy.nationalData(ctx.principal), 'only the regulator may issue or lift blocking orders');
      const imei14 = strictImei(imei);
      const { lifted, change } = await deps.db.transaction().execute(async (trx) => {
        const ref = await devicesRepository(trx).deleteOrder(imei14);
        if (!ref) return { lifted: null, change: null };
        await deps.audit.record(trx, ctx, { action: 'devices.imei.order.lift', subjectType: 'imei', subject: toImei15(imei14), detail: { orderRef: ref } });
        const announced = await announce(trx, [imei14]);
        await deps.outbox.add(trx, 'devices.imei.order-lifted', { imei14, ...announced });
        return { lifted: ref, change: announced };
      });
      if (change) deps.eir.apply(change);
      if (!lifted) throw new DomainError('not_found', `IMEI ${imei} has no blocking order`);
    },

    /**
     * N5g-eir, answered synchronously from memory; only a black answer for a paired IMSI asks the database whether
     * the block is just non-registration (which a pairing lifts), and so returns a promise.
     */
    equipmentStatus(pei: string, supi: string | undefined): EirOutcome | Promise<EirOutcome> {
      const parsed = parsePei(pei);
      if (!parsed.ok) return { badPei: true };
      const imei14 = parsed.imei14;
      const answer = deps.eir.check(imei14, imsiOfSupi(supi));
      if ('unknownTac' in answer) return answer;
      if (answer.status !== 'BLACKLISTED' || !answer.paired) return { status: answer.status };
      return devicesRepository(deps.db)
        .facts([imei14])
        .then(([why]) => {
          const onlyUnregistered = why && !why.stolen && !why.ordered && why.reasons.every((r) => r === 'not_registered');
          return { status: onlyUnregistered ? 'WHITELISTED' : 'BLACKLISTED' };
        });
    },

    /** Operators: up to 1,000 IMEIs with their status and reasons. */
    async checkBatch(imeis: string[]) {
      const parsed = imeis.map((imei) => ({ imei, p: parseImei(imei, { network: true }) }));
      const imei14s = parsed.flatMap((x) => (x.p.ok ? [x.p.imei14] : []));
      const why = new Map((await devicesRepository(deps.db).facts(imei14s)).map((f) => [f.imei14, f]));
      return parsed.map(({ imei, p }) => {
        if (!p.ok) return { imei, valid: false, status: null, reasons: [`INVALID_${p.reason.toUpperCase()}`] };
        const answer = deps.eir.check(p.imei14, null);
        if ('unknownTac' in answer) return { imei, valid: true, status: null, reasons: ['TAC_UNKNOWN'] };
        const w = why.get(p.imei14);
        const reasons = [...(w?.stolen ? ['stolen'] : []), ...(w?.ordered ? ['blocked_by_order'] : []), ...(w?.reasons ?? []), ...(w?.registered ? ['registered'] : [])];
        return { imei, valid: true, status: answer.status, reasons: [...new Set(reasons)], deadline: w?.deadline ?? null };
      });
    },

    /** Citizens: validity, registry status, brand and model, nothing personal. */
    async publicCheck(imei: string) {
      const p = parseImei(imei);
      if (!p.ok || p.kind !== 'imei') return { imei, valid: false, tacKnown: false, status: null, brand: null, model: null };
      const answer = deps.eir.check(p.imei14, null);
      if ('unknownTac' in answer) return { imei, valid: true, tacKnown: false, status: null, brand: null, model: null };
      const tac = (await devicesReadRepository(deps.db).tacs([p.tac])).get(p.tac);
      const status: PublicStatus = answer.status === 'BLACKLISTED' ? 'blocked' : answer.status === 'WHITELISTED' ? 'registered' : 'unregistered';
      return { imei, valid: true, tacKnown: true, status, brand: tac?.manufacturer ?? null, model: tac?.modelName ?? null };
    },

    /** National totals for every reader; observations per operator as the policy lets the caller see them. */
    async stats(ctx: RequestContext, days: number) {
      const s = await devicesReadRepository(deps.db).stats(days);
      const visible = devicesPolicy.observationStats(ctx.principal);
      const seen = s.observations.filter((o) => sees(visible, o.operatorId));
      const names = await deps.orgs.names(seen.map((o) => o.operatorId));
      const observations = seen.map((o) => ({ operator: names.get(o.operatorId) ?? o.operatorId, pairs: Number(o.pairs), imeis: Number(o.imeis) }));
      const count = (status: string) => Number(s.lists.find((l) => l.status === status)?.n ?? 0);
      return {
        lists: { grey: count('grey'), black: count('black') },
        totals: { registered: Number(s.totals.registered), stolen: Number(s.totals.stolen), tacs: Number(s.totals.tacs) },
        registrationsPerDay: s.registrations.map((r) => ({ day: r.day, source: r.source, count: Number(r.n) })),
        blocksPerDay: s.blocks.map((b) => ({ day: b.day, action: b.action, source: b.source, count: Number(b.n) })),
        observationsPerOperator: observations,
        index: deps.eir.stats(),
      };
    },
  };
}

export type DevicesService = ReturnType<typeof createDevicesService>;
