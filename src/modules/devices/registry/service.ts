import type { OrgDirectory } from '../../../core/auth/directory.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { RunChange } from '../../../core/changes.js';
import { DomainError } from '../../../core/errors.js';
import type { Ingest, UploadOptions } from '../../../core/ingest/service.js';
import { parseImei } from '../../../identifiers/imei.js';
import type { Eir } from '../eir/eir.js';
import { announceStatuses } from '../network/status-changes.js';
import { devicesPolicy, requireAllowed, sees } from '../policy.js';
import type { DevicesDb, DevicesTables, RegistrationSource } from '../tables.js';
import { importRegistrations, importTacs } from './imports.js';
import { registerBatch, REJECT_TEXT } from './registration.js';
import { registryRepository } from './repository.js';

export interface RegistryDeps {
  db: DevicesDb;
  run: RunChange<DevicesTables>;
  orgs: OrgDirectory;
  /** This instance's EIR: the registry's changes are applied there on commit, and the checks answer from it. */
  eir: Eir;
  clock: () => Date;
  ingest: Ingest;
}

export type PublicStatus = 'registered' | 'unregistered' | 'blocked';

/** The IMEI registry: the TAC database, registrations, and the citizens' check and statistics that answer from them. */
export function createRegistryService(deps: RegistryDeps) {
  const repo = registryRepository(deps.db);

  return {
    async importTacs(ctx: RequestContext, opts: UploadOptions & { delta: boolean }) {
      requireAllowed(devicesPolicy.nationalData(ctx.principal), 'the TAC database is the regulator’s: only the regulator imports it');
      return importTacs(deps, ctx, opts);
    },

    /** Bulk registration for an importer: `org` (name or id) defaults to the caller's organisation. */
    async importRegistrations(ctx: RequestContext, opts: UploadOptions & { org?: string }) {
      requireAllowed(devicesPolicy.importRegistrations(ctx.principal), 'registration files of importers and customs are uploaded by the regulator');
      let orgId = ctx.principal.orgId;
      if (opts.org !== undefined) {
        const org = await deps.orgs.find(opts.org);
        if (!org) throw new DomainError('not_found', `organisation "${opts.org}" does not exist`);
        orgId = org.id;
      }
      if (!orgId) throw new DomainError('invalid', 'name the importer organisation the registrations are made for');
      return importRegistrations(deps, ctx, { ...opts, orgId });
    },

    async getTac(tac: string) {
      const found = await repo.findTac(tac);
      if (!found) throw new DomainError('not_found', `TAC ${tac} is not in the TAC database`);
      return found;
    },

    async register(ctx: RequestContext, input: { imeis: string[]; source: RegistrationSource; reference: string | null }) {
      requireAllowed(
        devicesPolicy.register(ctx.principal, input.source),
        `operators register with source individual or service_centre; source ${input.source} is the regulator’s`,
      );
      const orgId = ctx.principal.orgId;
      const { outcomes, change } = await deps.run(ctx, async (c) => {
        const result = await registerBatch(
          c.db,
          input.imeis.map((imei, at) => ({ at, imei, reference: input.reference })),
          input.source,
          orgId,
        );
        const registered = result.filter((o) => o.result === 'registered').map((o) => o.imei14!);
        if (!registered.length) return { outcomes: result, change: null };
        await c.audit({
          action: 'devices.register',
          subjectType: 'imei',
          detail: { source: input.source, registered: registered.length, rejected: result.length - registered.length },
        });
        const announced = await announceStatuses(c.db, deps, registered);
        await c.publish('devices.imei.registered', { imei14s: registered, ...announced });
        return { outcomes: result, change: announced };
      });
      if (change) deps.eir.apply(change);
      return outcomes.map((o) =>
        o.result === 'registered' ? { imei: o.imei, result: o.result } : { imei: o.imei, result: o.result, reason: o.reason, detail: REJECT_TEXT[o.reason] },
      );
    },

    /** Citizens: validity, registry status, brand and model, nothing personal. */
    async publicCheck(imei: string) {
      const p = parseImei(imei);
      if (!p.ok || p.kind !== 'imei') return { imei, valid: false, tacKnown: false, status: null, brand: null, model: null };
      const answer = deps.eir.check(p.imei14, null);
      if ('unknownTac' in answer) return { imei, valid: true, tacKnown: false, status: null, brand: null, model: null };
      const tac = (await repo.tacs([p.tac])).get(p.tac);
      const status: PublicStatus = answer.status === 'BLACKLISTED' ? 'blocked' : answer.status === 'WHITELISTED' ? 'registered' : 'unregistered';
      return { imei, valid: true, tacKnown: true, status, brand: tac?.manufacturer ?? null, model: tac?.modelName ?? null };
    },

    /** National totals for every reader; observations per operator as the policy lets the caller see them. */
    async stats(ctx: RequestContext, days: number) {
      const s = await repo.stats(days);
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

export type RegistryService = ReturnType<typeof createRegistryService>;
