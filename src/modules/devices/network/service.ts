import type { UploadOptions } from '../../../core/ingest/service.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { OrgDirectory } from '../../../core/auth/directory.js';
import type { ConditionName, ListKind } from '../tables.js';
import { DomainError } from '../../../core/errors.js';
import { parseImei } from '../../../identifiers/imei.js';
import { parseImsi } from '../../../identifiers/imsi.js';
import { maskMiddle } from '../../../identifiers/mask.js';
import { maskMsisdn } from '../../../identifiers/msisdn.js';
import { createBlocks } from './blocks.js';
import { classify, pendingSettler, startClassificationSchedule, startPendingClassification, type EirWriter } from './classification.js';
import { listCsv, listVersion, regenerateLists } from './lists.js';
import { importObservations, type ObservationDeps } from './observations.js';
import { networkRepository, type Condition, type TraceAlertRow } from './repository.js';
import { MAX_GRACE_DAYS, MAX_IMSIS, MAX_WINDOW_DAYS } from './schema.js';
import { createNetworksService, plmnOf } from './networks.js';
import { networksRepository } from './networks-repository.js';
import { devicesPolicy, type PairingDecision } from '../policy.js';

/** The network side needs what an observation import needs, the organisations, and this instance's EIR. */
export type NetworkDeps = ObservationDeps & { orgs: OrgDirectory; eir: EirWriter };

export type ConditionSettings = Omit<Condition, 'name'>;

/** A trace alert as the police read it: with the name of the operator whose network saw the device. */
export type TraceAlertView = TraceAlertRow & { operatorName: string | null };

const MAX_TRACE_PAGE = 100;
const maskImsi = (imsi: string) => maskMiddle(imsi, 5, 2);

const encodeCursor = (a: { createdAt: Date; id: string }) => Buffer.from(`${a.createdAt.toISOString()}|${a.id}`).toString('base64url');

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new DomainError('invalid', 'cursor is not one this API issued');
  return { createdAt: new Date(m[1]!), id: m[2]! };
}

function imei14Of(imei: string): string {
  const parsed = parseImei(imei);
  if (!parsed.ok) throw new DomainError('invalid', `imei is not valid (${parsed.reason.replaceAll('_', ' ')})`);
  return parsed.imei14;
}

function imsiOf(imsi: string): { imsi: string; plmn: string } {
  const parsed = parseImsi(imsi);
  if (!parsed.ok) throw new DomainError('invalid', `imsi is not valid (${parsed.reason.replaceAll('_', ' ')})`);
  return { imsi: parsed.imsi, plmn: plmnOf(parsed) };
}

/** Refuses a pairing the policy does not allow, saying who may. */
function checkPairing(decision: PairingDecision, plmn: string): void {
  if (decision === 'forbidden')
    throw new DomainError('forbidden', `the IMSI's network ${plmn} is not the caller's: an operator pairs only IMSIs of its own networks, the regulator any`);
  if (decision === 'unknown_network') {
    throw new DomainError(
      'unprocessable',
      `no operator holds network ${plmn} (MCC + MNC of the IMSI): the regulator assigns it with PUT /api/v1/devices/networks/${plmn}`,
    );
  }
}

function checkSettings(name: ConditionName, s: ConditionSettings): void {
  if (!Number.isInteger(s.graceDays) || s.graceDays < 0 || s.graceDays > MAX_GRACE_DAYS)
    throw new DomainError('invalid', `graceDays must be a whole number from 0 to ${MAX_GRACE_DAYS}`);
  if (name !== 'duplicate') return;
  for (const [key, max] of [
    ['maxImsis', MAX_IMSIS],
    ['windowDays', MAX_WINDOW_DAYS],
  ] as const) {
    const v = s.params[key];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max)
      throw new DomainError('invalid', `params.${key} must be a whole number from 1 to ${max}`);
  }
}

/** What operators' networks report and what follows from it: observations, classification, lists, trace alerts, pairings, networks, blocks. */
export function createNetworkService(deps: NetworkDeps) {
  const settle = pendingSettler(deps);
  const requireRegulator = (ctx: RequestContext, what: string) => {
    if (!devicesPolicy.nationalData(ctx.principal)) throw new DomainError('forbidden', `only the regulator may ${what}`);
  };

  /** The operator a request acts for: the caller's own operator organisation, or the one a regulator names. */
  async function resolveOperator(ctx: RequestContext, requested: string | undefined): Promise<string> {
    const p = ctx.principal;
    const own = devicesPolicy.defaultOperator(p);
    if (own === null && !devicesPolicy.anyOperator(p)) throw new DomainError('forbidden', 'only an operator (for itself) or the regulator may do this');
    if (requested === undefined) {
      if (own !== null) return own;
      throw new DomainError('invalid', 'name the operator (operator=<organisation id or name>)');
    }
    const org = await deps.orgs.find(requested);
    if (org && devicesPolicy.actsForOperator(p, org)) return org.id;
    if (own !== null) throw new DomainError('forbidden', 'an operator acts only for itself');
    throw new DomainError('not_found', `operator "${requested}" does not exist`);
  }

  async function changePairing(
    ctx: RequestContext,
    input: { imei: string; imsi: string },
    add: boolean,
  ): Promise<{ imei14: string; imsi: string; changed: boolean }> {
    const imei14 = imei14Of(input.imei);
    const { imsi, plmn } = imsiOf(input.imsi);
    const p = ctx.principal;
    const changed = await deps.run(ctx, async (c) => {
      const repo = networkRepository(c.db);
      if (add) checkPairing(devicesPolicy.addPairing(p, await networksRepository(c.db).holderOf(plmn)), plmn);
      else {
        // Another organisation's pairing is not the caller's to know of: it answers like a missing one.
        const pairing = await repo.lockPairing(imei14, imsi);
        if (!pairing || !devicesPolicy.removePairing(p, pairing)) return false;
      }
      if (!(add ? await repo.addPairing(imei14, imsi, p.orgId) : await repo.removePairing(imei14, imsi))) return false;
      await c.audit({
        action: add ? 'devices.pairing.add' : 'devices.pairing.remove',
        subjectType: 'imsi',
        subject: maskImsi(imsi),
        detail: { imei: maskMiddle(imei14, 8, 2) },
      });
      await repo.queuePending([imei14]);
      await c.publish(add ? 'devices.pairing.added' : 'devices.pairing.removed', { imei14, ...deps.eir.pairingNotice() });
      return true;
    });
    if (!changed && !add) throw new DomainError('not_found', 'no such pairing');
    if (changed) {
      deps.eir.applyPairing(imei14, imsi, add);
      // The change is committed and its IMEI owed in the same transaction: a failed settling here is retried by the
      // periodic one (within 5 s), and must not turn the committed change into an error.
      await settle().catch((err: unknown) => deps.logger.warn({ err }, 'settling a pairing’s classification failed; the periodic settling retries it'));
    }
    return { imei14, imsi, changed };
  }

  return {
    ...createBlocks(deps),

    async importObservations(ctx: RequestContext, input: UploadOptions & { operator?: string; maxMalformedShare?: number }) {
      const { operator, ...upload } = input;
      return importObservations({ ...deps, settleClassification: settle }, ctx, { ...upload, operatorId: await resolveOperator(ctx, operator) });
    },

    async classify(ctx: RequestContext) {
      requireRegulator(ctx, 'run a classification');
      const result = await classify(deps);
      await deps.run(ctx, (c) => c.audit({ action: 'devices.classify', detail: { ...result } }));
      return result;
    },

    /** Re-classifies these IMEIs and regenerates the lists: for changes made elsewhere (registration, stolen, orders). */
    reclassify: (imei14s: string[]) => classify(deps, { imei14s }),

    /** Settles the classifications owed by committed changes (see `pendingSettler`). */
    classifyPending: settle,

    /** Settles owed classifications now (a crash may have left some), on every kick and every `everyMs`. */
    startPendingClassification: (everyMs: number, gatherMs?: number) => startPendingClassification(deps, settle, everyMs, gatherMs),

    regenerateLists: () => regenerateLists(deps),

    /** One operator's list as CSV; every read is audited (the lists carry subscribers' numbers). */
    async listCsv(ctx: RequestContext, input: { operator?: string; kind: ListKind; since?: number }) {
      const operatorId = await resolveOperator(ctx, input.operator);
      const list = await listCsv(deps, { operatorId, kind: input.kind, since: input.since });
      await deps.run(ctx, (c) =>
        c.audit({
          action: 'devices.lists.read',
          subjectType: 'organisation',
          subject: operatorId,
          detail: { kind: input.kind, since: input.since ?? null, version: list.version },
        }),
      );
      return list;
    },

    async listVersion(ctx: RequestContext, input: { operator?: string; kind: ListKind }) {
      return listVersion(deps, { operatorId: await resolveOperator(ctx, input.operator), kind: input.kind });
    },

    /** The calling police organisation's trace alerts (the regulator: every one), newest first, MSISDN included; each alert read is audited. */
    async traceAlerts(ctx: RequestContext, input: { limit?: number; cursor?: string } = {}) {
      const visible = devicesPolicy.traceAlerts(ctx.principal);
      if (!visible) throw new DomainError('forbidden', 'trace alerts go only to the police organisation that blocked the device, and to the regulator');
      const limit = Math.min(input.limit ?? MAX_TRACE_PAGE, MAX_TRACE_PAGE);
      const rows = await networkRepository(deps.db).traceAlertsFor(
        visible.all ? null : visible.orgId,
        limit + 1,
        input.cursor ? decodeCursor(input.cursor) : undefined,
      );
      const items = rows.slice(0, limit);
      const names = await deps.orgs.names(items.map((a) => a.operatorId));
      await deps.run(ctx, async (c) => {
        for (const a of items) {
          await c.audit({
            action: 'devices.trace.read',
            subjectType: a.msisdn ? 'msisdn' : 'imsi',
            subject: a.msisdn ? maskMsisdn(a.msisdn) : maskImsi(a.imsi),
            detail: { alertId: a.id },
          });
        }
        if (!items.length) await c.audit({ action: 'devices.trace.read', detail: { alerts: 0 } });
      });
      return {
        items: items.map((a): TraceAlertView => ({ ...a, operatorName: names.get(a.operatorId) ?? null })),
        nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!) : null,
      };
    },

    /** Exempts a device from the registration rule while it is used with this IMSI (never from a stolen or ordered block). */
    addPairing: (ctx: RequestContext, input: { imei: string; imsi: string }) => changePairing(ctx, input, true),
    removePairing: (ctx: RequestContext, input: { imei: string; imsi: string }) => changePairing(ctx, input, false),

    /** The mobile networks and the operators holding them (whose IMSIs each operator may pair). */
    networks: createNetworksService(deps),

    getConditions: () => networkRepository(deps.db).conditions(),

    /** Changes a condition at run time; it applies from the next classification (scheduled or by hand). */
    async updateCondition(ctx: RequestContext, name: string, settings: ConditionSettings): Promise<Condition> {
      requireRegulator(ctx, 'change the classification conditions');
      const condition: Condition = {
        name: name as ConditionName,
        blocking: settings.blocking,
        graceDays: settings.graceDays,
        sticky: settings.sticky,
        enabled: settings.enabled,
        params: settings.params,
      };
      checkSettings(condition.name, settings);
      const updated = await deps.run(ctx, async (c) => {
        if (!(await networkRepository(c.db).updateCondition(condition))) return false;
        await c.audit({ action: 'devices.condition.update', subjectType: 'condition', subject: name, detail: { ...condition } });
        return true;
      });
      if (!updated) throw new DomainError('not_found', `condition "${name}" does not exist`);
      return condition;
    },

    startClassificationSchedule: (everyMs: number) => startClassificationSchedule(deps, everyMs),
  };
}

export type NetworkService = ReturnType<typeof createNetworkService>;
