import { parseImei } from '../../../identifiers/imei.js';
import { parsePei } from '../../../identifiers/pei.js';
import { imsiOfSupi } from '../../../identifiers/supi.js';
import type { DevicesDb } from '../tables.js';
import type { Eir, EquipmentStatus } from './eir.js';
import { eirRepository } from './repository.js';

export type EirOutcome = { status: EquipmentStatus } | { unknownTac: string } | { badPei: true };

/** The equipment identity checks: N5g-eir for core networks, and operators' batches with reasons. */
export function createEirService(deps: { db: DevicesDb; eir: Eir }) {
  const repo = eirRepository(deps.db);
  return {
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
      return repo.facts([imei14]).then(([why]) => {
        const onlyUnregistered = why && !why.stolen && !why.ordered && why.reasons.every((r) => r === 'not_registered');
        return { status: onlyUnregistered ? 'WHITELISTED' : 'BLACKLISTED' };
      });
    },

    /** Operators: up to 1,000 IMEIs with their status and reasons. */
    async checkBatch(imeis: string[]) {
      const parsed = imeis.map((imei) => ({ imei, p: parseImei(imei, { network: true }) }));
      const imei14s = parsed.flatMap((x) => (x.p.ok ? [x.p.imei14] : []));
      const why = new Map((await repo.facts(imei14s)).map((f) => [f.imei14, f]));
      return parsed.map(({ imei, p }) => {
        if (!p.ok) return { imei, valid: false, status: null, reasons: [`INVALID_${p.reason.toUpperCase()}`] };
        const answer = deps.eir.check(p.imei14, null);
        if ('unknownTac' in answer) return { imei, valid: true, status: null, reasons: ['TAC_UNKNOWN'] };
        const w = why.get(p.imei14);
        const reasons = [
          ...(w?.stolen ? ['stolen'] : []),
          ...(w?.ordered ? ['blocked_by_order'] : []),
          ...(w?.reasons ?? []),
          ...(w?.registered ? ['registered'] : []),
        ];
        return { imei, valid: true, status: answer.status, reasons: [...new Set(reasons)], deadline: w?.deadline ?? null };
      });
    },
  };
}

export type EirService = ReturnType<typeof createEirService>;
