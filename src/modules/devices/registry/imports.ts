import { Readable } from 'node:stream';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { AuditService } from '../../../core/audit/service.js';
import type { Executor } from '../../../core/db/database.js';
import type { Outbox } from '../../../core/events/outbox.js';
import { runImport, type ImportReport, type RowResult } from '../../../core/imports/csv-import.js';
import { parseImei } from '../../../identifiers/imei.js';
import { queueClassification, statusesOf } from '../network/classification.js';
import type { Eir, EirChange } from '../eir/eir.js';
import { registerBatch, REJECT_TEXT } from './registration.js';
import { devicesRepository, type TacRecord } from './repository.js';

export interface ImportDeps {
  db: Executor;
  audit: AuditService;
  outbox: Outbox;
  eir: Eir;
  clock: () => Date;
}

/** IMEIs changed by an import: named with their new statuses in the event when few, otherwise every EIR reloads. */
const EVENT_IMEI_LIMIT = 10_000;

/**
 * The IMEIs an import changes: each batch's are queued for classification in the import's transaction; at the end
 * the event names their new EIR statuses (or asks for a reload), and after the commit the importing instance's EIR
 * applies them (or reloads) before the import answers.
 */
function changedImeis(deps: ImportDeps) {
  let list: string[] = [];
  let overflow = false;
  let change: EirChange | null = null;
  return {
    async add(trx: Executor, imei14s: string[]) {
      await queueClassification(trx, imei14s);
      if (overflow || list.length + imei14s.length > EVENT_IMEI_LIMIT) {
        overflow = true;
        list = [];
      } else list.push(...imei14s);
    },
    async payload(trx: Executor): Promise<Record<string, unknown>> {
      if (overflow) return deps.eir.reloadNotice();
      change = deps.eir.change(await statusesOf(trx, deps.clock, list));
      return { imei14s: list, ...change };
    },
    async applied<R extends { committed: boolean }>(report: R): Promise<R> {
      if (!report.committed) return report;
      if (overflow) await deps.eir.reload();
      else if (change) deps.eir.apply(change);
      return report;
    },
  };
}

/** GSMA-style files are pipe-delimited, others comma-separated: decided from the first chunk (the header). */
export async function sniffDelimiter(input: Readable): Promise<{ input: Readable; delimiter: string }> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first = await chunks.next();
  const header = first.done ? '' : (String(first.value).split('\n')[0] ?? '');
  async function* replay() {
    if (!first.done) yield first.value;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  }
  const pipes = header.match(/\|/g)?.length ?? 0;
  const commas = header.match(/,/g)?.length ?? 0;
  return { input: Readable.from(replay(), { objectMode: false }), delimiter: pipes > commas ? '|' : ',' };
}

const field = (row: Record<string, string>, name: string) => (row[name] ?? '').trim();

function parseTac(row: Record<string, string>): RowResult<TacRecord> {
  const tac = field(row, 'tac');
  if (!/^[0-9]{8}$/.test(tac)) return { ok: false, error: `tac "${tac}" is not 8 digits` };
  const manufacturer = field(row, 'manufacturer');
  const modelName = field(row, 'model_name');
  if (!manufacturer || !modelName) return { ok: false, error: 'manufacturer and model_name are required' };
  const opt = (name: string) => field(row, name) || null;
  return { ok: true, value: { tac, manufacturer, modelName, bands: opt('bands'), allocationDate: opt('allocation_date'), deviceType: opt('device_type') } };
}

/** `tac|manufacturer|model_name|bands|allocation_date|device_type|…` (or CSV): a full replace, or a delta (upsert). */
export async function importTacs(deps: ImportDeps, ctx: RequestContext, opts: { input: Readable; delta: boolean; onProgress?: (rows: number) => void }): Promise<ImportReport> {
  const { input, delimiter } = await sniffDelimiter(opts.input);
  const report = await runImport({
    input,
    delimiter,
    columns: ['tac', 'manufacturer', 'model_name'],
    db: deps.db,
    parseRow: parseTac,
    begin: opts.delta ? undefined : (trx) => devicesRepository(trx).deleteAllTacs(),
    writeBatch: async (trx, batch) => {
      const seen = new Map<string, TacRecord>();
      for (const { value } of batch) seen.set(value.tac, value);
      await devicesRepository(trx).upsertTacs([...seen.values()]);
    },
    finish: async (trx, report) => {
      await deps.audit.record(trx, ctx, { action: 'devices.tac.import', subjectType: 'tac-database', detail: { mode: opts.delta ? 'delta' : 'full', rows: report.accepted } });
      await deps.outbox.add(trx, 'devices.tac.imported', { mode: opts.delta ? 'delta' : 'full', rows: report.accepted, ...deps.eir.reloadNotice() });
    },
    onProgress: opts.onProgress,
  });
  // The importing instance knows the new TACs before it answers; the others reload on the event.
  if (report.committed) await deps.eir.reload();
  return report;
}

/** CSV `imei,reference`: bulk registration by an importer; every row is checked like the API's. */
export async function importRegistrations(deps: ImportDeps, ctx: RequestContext, opts: { input: Readable; orgId: string; onProgress?: (rows: number) => void; maxRejectedShare?: number }): Promise<ImportReport> {
  const changed = changedImeis(deps);
  const report = await runImport({
    input: opts.input,
    columns: ['imei', 'reference'],
    db: deps.db,
    maxMalformedShare: opts.maxRejectedShare ?? 1,
    parseRow: (row) => ({ ok: true, value: { imei: field(row, 'imei'), reference: field(row, 'reference') || null } }),
    writeBatch: async (trx, batch) => {
      const outcomes = await registerBatch(trx, batch.map((b) => ({ at: b.line, ...b.value })), 'importer', opts.orgId);
      const errors = [];
      const registered: string[] = [];
      for (const o of outcomes) {
        if (o.result === 'registered') registered.push(o.imei14!);
        else errors.push({ line: o.at, message: `${o.reason}: ${REJECT_TEXT[o.reason]}` });
      }
      await changed.add(trx, registered);
      return errors;
    },
    finish: async (trx, report) => {
      await deps.audit.record(trx, ctx, { action: 'devices.registrations.import', subjectType: 'imei', detail: { registered: report.accepted, rejected: report.rejected } });
      await deps.outbox.add(trx, 'devices.imei.registered', await changed.payload(trx));
    },
    onProgress: opts.onProgress,
  });
  return changed.applied(report);
}

/** CSV `imei[,reference]`: lost and stolen lists from the GSMA or partner countries. */
export async function importStolen(deps: ImportDeps, ctx: RequestContext, opts: { input: Readable; source: string; onProgress?: (rows: number) => void; maxMalformedShare?: number }): Promise<ImportReport> {
  const changed = changedImeis(deps);
  const report = await runImport({
    input: opts.input,
    columns: ['imei'],
    db: deps.db,
    maxMalformedShare: opts.maxMalformedShare ?? 0.01,
    parseRow: (row) => {
      const parsed = parseImei(field(row, 'imei'), { network: true });
      return parsed.ok ? { ok: true, value: { imei14: parsed.imei14, reference: field(row, 'reference') || `${opts.source} list` } } : { ok: false, error: `imei: ${parsed.reason}` };
    },
    writeBatch: async (trx, batch) => {
      const repo = devicesRepository(trx);
      const blocked: string[] = [];
      for (const { value } of batch) if (await repo.insertStolen({ imei14: value.imei14, caseNumber: value.reference, source: opts.source, orgId: null })) blocked.push(value.imei14);
      await changed.add(trx, blocked);
    },
    finish: async (trx, report) => {
      await deps.audit.record(trx, ctx, { action: 'devices.stolen.import', subjectType: 'imei', detail: { source: opts.source, rows: report.accepted } });
      await deps.outbox.add(trx, 'devices.imei.blocked', await changed.payload(trx));
    },
    onProgress: opts.onProgress,
  });
  return changed.applied(report);
}
