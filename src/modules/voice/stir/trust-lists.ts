import type { Kysely } from 'kysely';
import type { OrgDirectory } from '../../../core/auth/directory.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { RunChange } from '../../../core/changes.js';
import { DomainError } from '../../../core/errors.js';
import { requireNationalData } from '../policy.js';
import type { VoiceTables } from '../tables.js';
import { stirRepository } from './repository.js';

/** Announces a change the verifier must reload for (the same topic as certificate changes). */
export const CERTIFICATES_CHANGED = 'voice.stir.certificates.changed';

export interface TrustListsDeps {
  db: Kysely<VoiceTables>;
  run: RunChange<VoiceTables>;
  orgs: OrgDirectory;
  clock: () => Date;
  /** Applies a committed change to this instance's verifier at once (read your own writes). */
  applied: () => Promise<void>;
}

/** A repository host as URLs spell it: lower case, without the default port 443; a 400 problem when it is not a host. */
function canonicalHost(host: string): string {
  try {
    const url = new URL(`https://${host}`);
    if (url.host && `${url.hostname}${url.port ? `:${url.port}` : ''}` === url.host && url.pathname === '/' && !url.username) return url.host;
  } catch {
    // falls through to the problem below
  }
  throw new DomainError('invalid', `"${host}" is not a host name with an optional port`);
}

/**
 * The regulator's STIR/SHAKEN reference lists: which operator each service provider code (SPC) names, and the
 * operators' certificate repositories from which an x5u not in the store may be fetched.
 */
export function createStirTrustLists(deps: TrustListsDeps) {
  const repo = stirRepository(deps.db);

  return {
    /** Service provider codes and the operators they name. */
    async listSpcs() {
      return repo.spcs();
    },

    /** Assigns a service provider code to an operator (the regulator only): its certificates vouch for that operator. */
    async putSpc(ctx: RequestContext, spc: string, operator: string) {
      requireNationalData(ctx.principal, 'assign service provider codes');
      const code = spc.toUpperCase();
      const operatorId = await deps.orgs.requireOperatorId(operator);
      const updatedAt = deps.clock();
      await deps.run(ctx, async (change) => {
        await stirRepository(change.db).putSpc(code, operatorId, updatedAt);
        await change.audit({ action: 'voice.stir.spc.assign', subjectType: 'stir_spc', subject: code, detail: { operatorId } });
        await change.publish(CERTIFICATES_CHANGED, { spc: code, change: 'spc' });
      });
      await deps.applied();
      return { spc: code, operatorId, updatedAt };
    },

    async deleteSpc(ctx: RequestContext, spc: string): Promise<void> {
      requireNationalData(ctx.principal, 'assign service provider codes');
      const code = spc.toUpperCase();
      await deps.run(ctx, async (change) => {
        if (!(await stirRepository(change.db).deleteSpc(code))) throw new DomainError('not_found', `service provider code ${code} is assigned to no operator`);
        await change.audit({ action: 'voice.stir.spc.unassign', subjectType: 'stir_spc', subject: code });
        await change.publish(CERTIFICATES_CHANGED, { spc: code, change: 'spc' });
      });
      await deps.applied();
    },

    /** Hosts of the operators' certificate repositories, from which an x5u not in the store is fetched. */
    async listRepositories() {
      return repo.repositories();
    },

    /** Allows a repository host (the regulator only); idempotent. */
    async putRepository(ctx: RequestContext, host: string) {
      requireNationalData(ctx.principal, 'allow certificate repositories');
      const canonical = canonicalHost(host);
      const createdAt = deps.clock();
      // Answered from the transaction: a read after the commit could fail and turn a committed change into an error.
      const allowed = await deps.run(ctx, async (change) => {
        const trxRepo = stirRepository(change.db);
        if (await trxRepo.addRepository(canonical, createdAt)) {
          await change.audit({ action: 'voice.stir.repository.allow', subjectType: 'stir_repository', subject: canonical });
          await change.publish(CERTIFICATES_CHANGED, { host: canonical, change: 'repository' });
        }
        return (await trxRepo.repositories()).find((r) => r.host === canonical)!;
      });
      await deps.applied();
      return allowed;
    },

    async deleteRepository(ctx: RequestContext, host: string): Promise<void> {
      requireNationalData(ctx.principal, 'allow certificate repositories');
      const canonical = canonicalHost(host);
      await deps.run(ctx, async (change) => {
        if (!(await stirRepository(change.db).deleteRepository(canonical)))
          throw new DomainError('not_found', `${canonical} is not an allowed certificate repository`);
        await change.audit({ action: 'voice.stir.repository.remove', subjectType: 'stir_repository', subject: canonical });
        await change.publish(CERTIFICATES_CHANGED, { host: canonical, change: 'repository' });
      });
      await deps.applied();
    },
  };
}
