import type { RequestContext } from '../../../core/auth/principal.js';
import type { OrgDirectory } from '../../../core/auth/directory.js';
import type { RunChange } from '../../../core/changes.js';
import { DomainError } from '../../../core/errors.js';
import { THREE_DIGIT_MNC_MCCS } from '../../../identifiers/imsi.js';
import { networksRepository, type NetworkHolder } from './networks-repository.js';
import { devicesPolicy } from '../policy.js';
import type { DevicesDb, DevicesTables } from '../tables.js';

/** The network of an IMSI: its MCC and MNC (the MNC's length as `parseImsi` splits it). */
export const plmnOf = (imsi: { mcc: string; mnc: string }): string => imsi.mcc + imsi.mnc;

/** A PLMN as the IMSIs of its network start: MCC + 2-digit MNC, or + 3 digits where the MCC's MNCs have 3. */
function checkPlmn(plmn: string): void {
  const mncDigits = THREE_DIGIT_MNC_MCCS.has(plmn.slice(0, 3)) ? 3 : 2;
  if (!new RegExp(`^[0-9]{${3 + mncDigits}}$`).test(plmn)) {
    throw new DomainError('invalid', `network must be MCC + MNC: 3 + ${mncDigits} digits for MCC ${plmn.slice(0, 3) || '…'} (e.g. 40102)`);
  }
}

/**
 * The mobile networks (MCC + MNC) and the operator organisations holding them: national reference data, assigned by
 * the regulator. An operator pairs devices only with IMSIs of the networks it holds.
 */
export function createNetworksService(deps: { db: DevicesDb; run: RunChange<DevicesTables>; orgs: OrgDirectory }) {
  const requireRegulator = (ctx: RequestContext) => {
    if (!devicesPolicy.nationalData(ctx.principal)) throw new DomainError('forbidden', 'only the regulator assigns mobile networks to operators');
  };

  return {
    list: (): Promise<NetworkHolder[]> => networksRepository(deps.db).all(),

    async put(ctx: RequestContext, plmn: string, operator: string): Promise<NetworkHolder> {
      requireRegulator(ctx);
      checkPlmn(plmn);
      const operatorId = await deps.orgs.requireOperatorId(operator);
      await deps.run(ctx, async (c) => {
        await networksRepository(c.db).put(plmn, operatorId);
        await c.audit({ action: 'devices.network.assign', subjectType: 'network', subject: plmn, detail: { operatorId } });
      });
      return { plmn, operatorId };
    },

    async remove(ctx: RequestContext, plmn: string): Promise<void> {
      requireRegulator(ctx);
      await deps.run(ctx, async (c) => {
        if (!(await networksRepository(c.db).remove(plmn))) throw new DomainError('not_found', `network ${plmn} has no holder`);
        await c.audit({ action: 'devices.network.unassign', subjectType: 'network', subject: plmn });
      });
    },
  };
}

export type NetworksService = ReturnType<typeof createNetworksService>;
