import { listsService, type ListsDeps } from './lists.js';
import { ownershipService, type OwnershipDeps } from './ownership.js';
import { roamingService, type RoamingDeps } from './roaming.js';
import { trunksService, type TrunksDeps } from './trunks.js';

export interface ReferenceServiceDeps extends RoamingDeps, OwnershipDeps, ListsDeps, TrunksDeps {}

/**
 * The reference data screening answers from, as operators and the regulator upload it: subscribers abroad, whose
 * numbers are whose (range holders, ported numbers), the do-not-originate list and the blocklist, trunks. Each
 * write is applied to this instance's index once it commits (read your own writes); its event tells the others.
 */
export function createReferenceService(deps: ReferenceServiceDeps) {
  return { ...roamingService(deps), ...ownershipService(deps), ...listsService(deps), ...trunksService(deps) };
}

export type ReferenceService = ReturnType<typeof createReferenceService>;
