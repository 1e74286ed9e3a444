// A device's EIR status: the codes the in-memory index stores, and the names change events carry.

/** Device status codes stored per IMEI (14-digit IMEI proper, no check digit). 0 = not in the index. */
export const STATUS_NONE = 0,
  STATUS_WHITE = 1,
  STATUS_GREY = 2,
  STATUS_BLACK = 3;
export type StatusCode = 0 | 1 | 2 | 3;

/** A device's EIR status as events name it (`none`: no entry, answered GREYLISTED). */
export type IndexStatus = 'none' | 'white' | 'grey' | 'black';
const STATUS_NAME: Record<StatusCode, IndexStatus> = { 0: 'none', 1: 'white', 2: 'grey', 3: 'black' };
export const STATUS_CODE: Record<IndexStatus, StatusCode> = { none: STATUS_NONE, white: STATUS_WHITE, grey: STATUS_GREY, black: STATUS_BLACK };

/**
 * What a status-changing event carries so that every instance applies it without reading the database: the new
 * status of each IMEI, and the instance that already applied it on commit (which then skips the event).
 */
export interface EirChange {
  statuses: Record<string, IndexStatus>;
  origin?: string;
}

/** The change naming these statuses, from `origin` when that instance applies it itself on commit. */
export function statusChange(statuses: Iterable<readonly [string, StatusCode]>, origin?: string): EirChange {
  const named: Record<string, IndexStatus> = {};
  for (const [imei14, code] of statuses) named[imei14] = STATUS_NAME[code];
  return origin === undefined ? { statuses: named } : { statuses: named, origin };
}
