import type { Kysely } from 'kysely';
import type { OrgDirectory } from '../../../core/auth/directory.js';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { RunChange } from '../../../core/changes.js';
import { DomainError, listed } from '../../../core/errors.js';
import { isAddressOrCidr } from '../../../core/net.js';
import { OPERATOR_TRUNK_PREFIX, requireVoiceActor, voicePolicy } from '../policy.js';
import type { Ingress } from '../screening/schema.js';
import type { VoiceIndex } from '../screening/voice-index.js';
import type { VoiceTables } from '../tables.js';
import { referenceRepository } from './repository.js';
import type { TrunkRecord } from './schema.js';

export interface TrunksDeps {
  db: Kysely<VoiceTables>;
  run: RunChange<VoiceTables>;
  orgs: OrgDirectory;
  index: VoiceIndex;
}

/** SIP trunks: the source addresses a call arrives from → the operator it is for and its ingress. */
export function trunksService(deps: TrunksDeps) {
  const { index } = deps;
  const repo = referenceRepository(deps.db);
  return {
    /** Trunks: every one for the regulator, an operator's own. */
    async listTrunks(ctx: RequestContext): Promise<TrunkRecord[]> {
      const visible = voicePolicy.visibleTrunks(ctx.principal);
      const all = await repo.trunks();
      return visible === 'all' ? all : all.filter((t) => t.operatorId !== null && t.operatorId === visible);
    },

    async putTrunk(ctx: RequestContext, input: { id: string; name: string; operator?: string; addresses: string[]; ingress: Ingress }): Promise<TrunkRecord> {
      requireVoiceActor(ctx);
      const bad = input.addresses.filter((a) => !isAddressOrCidr(a));
      if (bad.length) throw new DomainError('invalid', `not an IP address or CIDR: ${listed(bad)}`);
      const operatorId = input.operator === undefined ? voicePolicy.trunkOperatorByDefault(ctx.principal) : await deps.orgs.requireOperatorId(input.operator);
      const trunks = await repo.trunks();
      const existing = trunks.find((t) => t.id === input.id);
      if (existing && !voicePolicy.manageTrunk(ctx.principal, existing.operatorId))
        throw new DomainError('forbidden', `trunk "${input.id}" is another organisation’s: only its operator or the regulator may change it`);
      if (!voicePolicy.manageTrunk(ctx.principal, operatorId)) throw new DomainError('forbidden', 'an operator configures only its own trunks');
      const wide = voicePolicy.trunkRangesTooWide(ctx.principal, input.addresses);
      if (wide.length) {
        const { 4: v4, 6: v6 } = OPERATOR_TRUNK_PREFIX;
        throw new DomainError(
          'unprocessable',
          `an operator's trunk may hold at most an IPv4 /${v4} or an IPv6 /${v6} per entry (IPv4-mapped IPv6 counted as IPv4); wider ranges are the regulator's to configure: ${listed(wide)}`,
        );
      }
      if (
        voicePolicy.addressConflicts(
          ctx.principal,
          input.addresses,
          trunks.filter((t) => t.id !== input.id),
        ).length
      ) {
        throw new DomainError('conflict', 'these addresses overlap another organisation’s trunk; ask the regulator');
      }
      const trunk: TrunkRecord = { id: input.id, name: input.name, operatorId, addresses: input.addresses, ingress: input.ingress };
      await deps.run(ctx, async (change) => {
        await referenceRepository(change.db).putTrunk(trunk);
        await change.audit({
          action: 'voice.trunk.set',
          subjectType: 'trunk',
          subject: trunk.id,
          detail: { addresses: trunk.addresses, ingress: trunk.ingress },
        });
        await change.publish('voice.trunks.changed', { id: trunk.id });
      });
      index.putTrunk(trunk);
      return trunk;
    },

    async deleteTrunk(ctx: RequestContext, id: string): Promise<void> {
      requireVoiceActor(ctx);
      const existing = (await repo.trunks()).find((t) => t.id === id);
      if (existing && !voicePolicy.manageTrunk(ctx.principal, existing.operatorId)) throw new DomainError('not_found', `trunk "${id}" does not exist`);
      await deps.run(ctx, async (change) => {
        if (!(await referenceRepository(change.db).deleteTrunk(id))) throw new DomainError('not_found', `trunk "${id}" does not exist`);
        await change.audit({ action: 'voice.trunk.delete', subjectType: 'trunk', subject: id });
        await change.publish('voice.trunks.changed', { id });
      });
      index.removeTrunk(id);
    },
  };
}
