import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import type { DevicesDb, ListKind } from '../tables.js';
import { toImei15 } from '../../../identifiers/imei.js';
import { GLOBAL_LIST_OPERATOR, listRepository } from './list-repository.js';
import { networkRepository } from './repository.js';

export const LIST_KINDS: readonly ListKind[] = ['black', 'notification', 'exception'];

export interface ListCounts {
  added: number;
  removed: number;
}

const PAGE = 5_000;
/** Arbitrary, fixed key of the advisory lock that lets one list regeneration run at a time. */
const LISTS_LOCK = 7_214_004_102;

/**
 * Brings every operator's lists in line with the classification, pairings and observations: the difference is
 * appended to `devices_list_changes` (each change gets the next version) and applied to `devices_list_current`,
 * in one transaction, entirely in SQL.
 */
export async function regenerateLists(deps: { db: DevicesDb }): Promise<ListCounts> {
  return deps.db.transaction().execute((trx) => regenerateListsIn(trx));
}

/** The same inside the caller's transaction, for every IMEI or only for `imei14s` (after classifying just those). */
export async function regenerateListsIn(trx: DevicesDb, imei14s?: string[]): Promise<ListCounts> {
  await sql`select pg_advisory_xact_lock(${LISTS_LOCK})`.execute(trx);
  await networkRepository(trx).withoutJit();
  const repo = listRepository(trx);
  await repo.computeDesired(imei14s);
  await yieldToEventLoop();
  const removed = await repo.applyRemovals(imei14s);
  await yieldToEventLoop();
  const added = await repo.applyAdditions();
  return { added, removed };
}

/** The operator whose rows make up a list: the black list is the same for everybody. */
const listOwner = (operatorId: string, kind: ListKind) => (kind === 'black' ? GLOBAL_LIST_OPERATOR : operatorId);

export async function listVersion(deps: { db: DevicesDb }, options: { operatorId: string; kind: ListKind }): Promise<number> {
  return listRepository(deps.db).version(listOwner(options.operatorId, options.kind), options.kind);
}

const csvField = (v: string | null) => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const csvLine = (fields: (string | null)[]) => fields.map(csvField).join(',') + '\n';

/**
 * One operator's list as CSV lines, in constant memory: the full list as of the returned version (header
 * `imei,imsi,msisdn,reason`), or, with `since`, the changes after that version up to it (header
 * `change,imei,imsi,msisdn,reason,version`). IMEIs are written as 15 digits: the 14 stored digits and their
 * Luhn check digit. An entry changed while the full list is read may be missing from it; the delta since the
 * returned version brings it.
 */
export async function listCsv(
  deps: { db: DevicesDb },
  options: { operatorId: string; kind: ListKind; since?: number },
): Promise<{ version: number; lines: AsyncIterable<string> }> {
  const owner = listOwner(options.operatorId, options.kind);
  const repo = listRepository(deps.db);
  const version = await repo.version(owner, options.kind);
  const { kind, since } = options;
  async function* full(): AsyncGenerator<string> {
    yield csvLine(['imei', 'imsi', 'msisdn', 'reason']);
    let after: { imei14: string; imsi: string } | null = null;
    for (;;) {
      const page = await repo.entries(owner, kind, version, after, PAGE);
      for (const e of page) yield csvLine([toImei15(e.imei14), e.imsi, e.msisdn, e.reason]);
      if (page.length < PAGE) return;
      after = page[page.length - 1]!;
    }
  }
  async function* delta(from: number): AsyncGenerator<string> {
    yield csvLine(['change', 'imei', 'imsi', 'msisdn', 'reason', 'version']);
    let after = from;
    for (;;) {
      const page = await repo.changes(owner, kind, after, version, PAGE);
      for (const c of page) yield csvLine([c.op, toImei15(c.imei14), c.imsi, c.msisdn, c.reason, c.version]);
      if (page.length < PAGE) return;
      after = Number(page[page.length - 1]!.version);
    }
  }
  return { version, lines: since === undefined ? full() : delta(since) };
}
