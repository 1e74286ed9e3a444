import type { EirChange, StatusCode } from '../eir/status.js';
import type { DevicesDb } from '../tables.js';
import { queueClassification, statusesOf, type EirWriter } from './classification.js';

/** What a change of registrations, blocks or orders needs to announce the EIR statuses it brings. */
export interface StatusChangeDeps {
  eir: EirWriter;
  clock: () => Date;
}

/**
 * In the writer's transaction: these IMEIs owe a classification, and the change announcing their new EIR statuses
 * goes into the event; the writer applies it to its own index right after the commit (read your own writes). A block
 * or an order makes a device black whatever else holds (`known`): no need to ask the classification.
 */
export async function announceStatuses(trx: DevicesDb, deps: StatusChangeDeps, imei14s: string[], known?: StatusCode): Promise<EirChange> {
  await queueClassification(trx, imei14s);
  return deps.eir.change(known === undefined ? await statusesOf(trx, deps.clock, imei14s) : imei14s.map((imei14) => [imei14, known]));
}

/** IMEIs changed by an import: named with their new statuses in the event when few, otherwise every EIR reloads. */
export const EVENT_IMEI_LIMIT = 10_000;

/**
 * The IMEIs an import changes: each batch's are queued for classification in the import's transaction; at the end
 * the event names their new EIR statuses (or asks for a reload), and after the commit the importing instance's EIR
 * applies them (or reloads) before the import answers.
 */
export function importedStatuses(deps: StatusChangeDeps) {
  let list: string[] = [];
  let overflow = false;
  let change: EirChange | null = null;
  return {
    async add(trx: DevicesDb, imei14s: string[]) {
      await queueClassification(trx, imei14s);
      this.queued(imei14s, imei14s.length);
    },
    /** `total` IMEIs the import's own SQL queued for classification; `first` holds at least EVENT_IMEI_LIMIT + 1 of them. */
    queued(first: string[], total: number) {
      if (overflow || list.length + total > EVENT_IMEI_LIMIT) {
        overflow = true;
        list = [];
      } else list.push(...first);
    },
    async payload(trx: DevicesDb): Promise<Record<string, unknown>> {
      if (overflow) return deps.eir.reloadNotice();
      change = deps.eir.change(await statusesOf(trx, deps.clock, list));
      return { imei14s: list, ...change };
    },
    async applied<R extends { committed: boolean }>(report: R): Promise<R> {
      if (!report.committed) return report;
      if (overflow) await deps.eir.refresh();
      else if (change) deps.eir.apply(change);
      return report;
    },
  };
}
