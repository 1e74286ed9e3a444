import type { DevicesDb, RegistrationSource } from '../tables.js';
import { parseImei } from '../../../identifiers/imei.js';
import { registryRepository } from './repository.js';

export type RejectReason = 'INVALID_FORMAT' | 'INVALID_CHECK_DIGIT' | 'TAC_UNKNOWN' | 'ALREADY_REGISTERED' | 'DUPLICATE_IN_REQUEST' | 'REPORTED_STOLEN';

export const REJECT_TEXT: Record<RejectReason, string> = {
  INVALID_FORMAT: 'an IMEI is 15 digits',
  INVALID_CHECK_DIGIT: 'the 15th digit is not the Luhn check digit of the first 14',
  TAC_UNKNOWN: 'the TAC (first 8 digits) is not in the TAC database',
  ALREADY_REGISTERED: 'this IMEI is already registered',
  DUPLICATE_IN_REQUEST: 'this IMEI appears earlier in the same request',
  REPORTED_STOLEN: 'this IMEI is reported lost or stolen',
};

export interface Candidate {
  /** Position in the request, or line in the file. */
  at: number;
  imei: string;
  reference: string | null;
}

export type Outcome =
  | { at: number; imei: string; imei14: string | null; result: 'registered' }
  | { at: number; imei: string; imei14: string | null; result: 'rejected'; reason: RejectReason };

/** A registrant reads the IMEI from the box or label, so it must be 15 digits with a valid check digit. */
export function checkFormat(imei: string): { imei14: string } | { reason: RejectReason } {
  const s = imei.trim();
  if (!/^[0-9]{15}$/.test(s)) return { reason: 'INVALID_FORMAT' };
  const parsed = parseImei(s);
  return parsed.ok ? { imei14: parsed.imei14 } : { reason: 'INVALID_CHECK_DIGIT' };
}

/**
 * Checks a batch of IMEIs against the TAC database, the registry and the stolen list, and registers the ones
 * that pass, in the caller's transaction. Returns one outcome per candidate, in order.
 */
export async function registerBatch(trx: DevicesDb, candidates: Candidate[], source: RegistrationSource, orgId: string | null): Promise<Outcome[]> {
  const repo = registryRepository(trx);
  const seen = new Set<string>();
  const outcomes: Outcome[] = [];
  const valid: { c: Candidate; imei14: string }[] = [];
  for (const c of candidates) {
    const f = checkFormat(c.imei);
    if ('reason' in f) outcomes.push({ at: c.at, imei: c.imei, imei14: null, result: 'rejected', reason: f.reason });
    else if (seen.has(f.imei14)) outcomes.push({ at: c.at, imei: c.imei, imei14: f.imei14, result: 'rejected', reason: 'DUPLICATE_IN_REQUEST' });
    else {
      seen.add(f.imei14);
      valid.push({ c, imei14: f.imei14 });
    }
  }
  const imei14s = valid.map((v) => v.imei14);
  const [tacs, registered, stolen] = await Promise.all([
    repo.existingTacs([...new Set(imei14s.map((i) => i.slice(0, 8)))]),
    repo.registeredAmong(imei14s),
    repo.stolenAmong(imei14s),
  ]);
  const toInsert: typeof valid = [];
  for (const v of valid) {
    const reason: RejectReason | null = !tacs.has(v.imei14.slice(0, 8))
      ? 'TAC_UNKNOWN'
      : registered.has(v.imei14)
        ? 'ALREADY_REGISTERED'
        : stolen.has(v.imei14)
          ? 'REPORTED_STOLEN'
          : null;
    if (reason) outcomes.push({ at: v.c.at, imei: v.c.imei, imei14: v.imei14, result: 'rejected', reason });
    else toInsert.push(v);
  }
  const inserted = new Set(
    await repo.insertRegistrations(toInsert.map((v) => ({ imei14: v.imei14, imei: v.c.imei.trim(), source, reference: v.c.reference, orgId }))),
  );
  for (const v of toInsert) {
    outcomes.push(
      inserted.has(v.imei14)
        ? { at: v.c.at, imei: v.c.imei, imei14: v.imei14, result: 'registered' }
        : { at: v.c.at, imei: v.c.imei, imei14: v.imei14, result: 'rejected', reason: 'ALREADY_REGISTERED' },
    );
  }
  return outcomes.sort((a, b) => a.at - b.at);
}
