import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { Change } from '../../../core/changes.js';
import type { RowResult } from '../../../core/ingest/report.js';
import { parseImei } from '../../../identifiers/imei.js';
import { parseImsi } from '../../../identifiers/imsi.js';
import { parseMsisdn } from '../../../identifiers/msisdn.js';
import type { Ingest, IngestReport, UploadOptions } from '../../../core/ingest/service.js';
import type { DevicesTables } from '../tables.js';
import { classifyPending, type ClassifyDeps, type ClassifyResult } from './classification.js';
import { isIsoDay } from '../../../core/days.js';
import { kzDay } from './days.js';
import { observationsRepository } from './observations-repository.js';

export interface ObservationDeps extends ClassifyDeps {
  ids: () => string;
  ingest: Ingest;
  /** This instance's settling of owed classifications (`pendingSettler`); by default one of the import's own. */
  settleClassification?: () => Promise<ClassifyResult>;
}

export interface ObservationImportReport extends IngestReport {
  /** (IMEI, IMSI) pairs this operator had never reported before. */
  newPairs: number;
  traceAlerts: number;
  /**
   * The classification settled after the import committed (null when it was refused): the devices it saw, and any
   * other classification owed at the time. When another run holds the classification lock it waits for it (up to 30 s;
   * past that, only what it settled is counted, and the next settling does the rest).
   */
  classification: ClassifyResult | null;
}

/** Default share of malformed rows above which an import is refused whole (0.5 %). */
export const DEFAULT_MAX_MALFORMED_SHARE = 0.005;
const RAT_MAX = 32;

interface Observation {
  day: string;
  imei14: string;
  imsi: string;
  msisdn: string | null;
  rat: string | null;
}

/**
 * A parser of rows of `date,imei,imsi,msisdn,rat` dated up to `today`. An empty MSISDN or RAT is allowed; a
 * malformed one is not. (Files hold few distinct dates, so the last one checked is remembered.)
 */
export function observationParser(today: string): (row: Record<string, string>) => RowResult<Observation> {
  let lastDay = '';
  return (row) => {
    const day = row.date ?? '';
    if (day !== lastDay) {
      if (!isIsoDay(day)) return { ok: false, error: `date "${day}" is not a calendar day YYYY-MM-DD` };
      if (day > today) return { ok: false, error: `date ${day} is in the future` };
      lastDay = day;
    }
    return parseIdentifiers(row, day);
  };
}

function parseIdentifiers(row: Record<string, string>, day: string): RowResult<Observation> {
  // Networks send a spare 0 in place of the check digit, so the 15th digit is not checked.
  const imei = parseImei(row.imei ?? '', { network: true });
  if (!imei.ok) return { ok: false, error: imei.reason === 'not_digits' ? 'imei has characters other than digits' : 'imei must have 14 to 16 digits' };
  const imsi = parseImsi(row.imsi ?? '');
  if (!imsi.ok) return { ok: false, error: imsi.reason === 'not_digits' ? 'imsi has characters other than digits' : 'imsi must have 14 or 15 digits' };
  const rawMsisdn = row.msisdn ?? '';
  let msisdn: string | null = null;
  if (rawMsisdn !== '') {
    // Networks write international numbers without the '+'.
    let parsed = parseMsisdn(rawMsisdn);
    if (!parsed.ok && /^[1-9][0-9]{7,14}$/.test(rawMsisdn)) parsed = parseMsisdn(`+${rawMsisdn}`);
    if (!parsed.ok) return { ok: false, error: `msisdn is not a valid phone number (${parsed.reason.replace('_', ' ')})` };
    msisdn = parsed.e164;
  }
  const rat = row.rat ?? '';
  if (rat.length > RAT_MAX) return { ok: false, error: `rat is longer than ${RAT_MAX} characters` };
  return { ok: true, value: { day, imei14: imei.imei14, imsi: imsi.imsi, msisdn, rat: rat || null } };
}

/** The staging table's columns: one per value `parseRow` gives, in order. */
const STAGING = [
  { name: 'day', type: 'date' },
  { name: 'imei14', type: 'char(14)' },
  { name: 'imsi', type: 'text' },
  { name: 'msisdn', type: 'text' },
  { name: 'rat', type: 'text' },
];

/**
 * Imports one operator's observations through core's ingest pipeline: the checked rows are staged, then merged in
 * one transaction with set-based SQL. Malformed rows are reported by line, and the whole file is refused when more
 * than `maxMalformedShare` of its rows are malformed. Pairs are kept as first/last seen. A stolen IMEI seen on or
 * after the day it was blocked raises a trace alert for the police organisation that blocked it. The IMEIs seen are
 * queued for classification in the same transaction (so a crash after the commit leaves the work for the next start)
 * and classified after the commit, a few hundred per transaction.
 */
export async function importObservations(
  deps: ObservationDeps,
  ctx: RequestContext,
  options: UploadOptions & { operatorId: string; maxMalformedShare?: number },
): Promise<ObservationImportReport> {
  const parse = observationParser(kzDay(deps.clock()));
  let newPairs = 0;
  let traceAlerts = 0;

  const report = await deps.ingest.run<Change<DevicesTables>>({
    kind: 'devices.observations',
    ctx,
    orgId: options.operatorId,
    transaction: (work) => deps.run(ctx, work),
    input: options.input,
    importId: options.importId,
    format: 'csv',
    columns: ['date', 'imei', 'imsi', 'msisdn', 'rat'],
    staging: STAGING,
    // A pair's rows merge together (each pair upserted once per import on PGlite too).
    sliceKey: 'imei14',
    parseRow(row) {
      const r = parse(row as Record<string, string>);
      return r.ok ? { ok: true, value: [r.value.day, r.value.imei14, r.value.imsi, r.value.msisdn, r.value.rat] } : r;
    },
    maxMalformedShare: options.maxMalformedShare ?? DEFAULT_MAX_MALFORMED_SHARE,
    onProgress: options.onProgress,
    async merge(change, source) {
      const repo = observationsRepository(change.db);
      newPairs += await repo.mergePairs(options.operatorId, source);
      // On the embedded database each statement holds the thread: let requests through between the slice's three.
      await yieldToEventLoop();
      for (const a of await repo.raiseTraceAlerts(options.operatorId, source, deps.clock())) {
        traceAlerts++;
        await change.publish('devices.trace.alert', {
          alertId: a.id,
          imei14: a.imei14,
          policeOrgId: a.policeOrgId,
          operatorId: a.operatorId,
          caseNumber: a.caseNumber,
        });
      }
      await yieldToEventLoop();
      await repo.queuePending(source);
    },
    async finish(change, r) {
      await change.audit({
        action: 'devices.observations.import',
        subjectType: 'organisation',
        subject: options.operatorId,
        detail: { rows: r.rows, accepted: r.accepted, rejected: r.rejected, newPairs, traceAlerts },
      });
    },
  });
  if (!report.committed) return { ...report, newPairs: 0, traceAlerts: 0, classification: null };
  // The import is committed and its devices owed in its transaction: a failed settling is retried by the periodic one
  // (within 5 s), and the report says none was settled rather than turning the committed import into an error.
  const classification = await (deps.settleClassification?.() ?? classifyPending(deps)).catch((err: unknown) => {
    deps.logger.warn({ err, operatorId: options.operatorId }, 'settling an import’s classification failed; the periodic settling retries it');
    return null;
  });
  deps.logger.info(
    { operatorId: options.operatorId, rows: report.rows, rejected: report.rejected, newPairs, traceAlerts, changed: classification?.changed ?? null },
    'observations imported',
  );
  return { ...report, newPairs, traceAlerts, classification };
}
