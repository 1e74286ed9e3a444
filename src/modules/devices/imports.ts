import { Readable } from 'node:stream';
import type { RequestContext } from '../../core/auth/principal.js';
import type { AuditService } from '../../core/audit/service.js';
import type { Executor } from '../../core/db/database.js';
import type { Outbox } from '../../core/events/outbox.js';
import { runImport, type ImportReport, type RowResult } from '../../core/imports/csv-import.js';
import { parseImei } from '../../identifiers/imei.js';
import { registerBatch, REJECT_TEXT } from './registration.js';
import { devicesRepository, type TacRecord } from './repository.js';

export interface ImportDeps {
  db: Executor;
  audit: AuditService;
  outbox: Outbox;
}

/** IMEIs changed by an import: named in the event when few, otherwise the EIR reloads. */
const EVENT_IMEI_LIMIT = 10_000;

function changedImeis() {
  const list: string[] = [];
  let overflow = false;
  return {
    add(imei14: string) {
      if (list.length < EVENT_IMEI_LIMIT) list.push(imei14);
      else overflow = true;
    },
    payload: (): Record<string, unknown> => (overflow ? { reload: true } : { imei14s: list }),
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
  return runImport({
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
      await deps.outbox.add(trx, 'devices.tac.imported', { mode: opts.delta ? 'delta' : 'full', rows: report.accepted });
    },
    onProgress: opts.onProgress,
  });
}

/** CSV `imei,reference`: bulk registration by an importer; every row is checked like the API's. */
export async function importRegistrations(deps: ImportDeps, ctx: RequestContext, opts: { input: Readable; orgId: string; onProgress?: (rows: number) => void; maxRejectedShare?: number }): Promise<ImportReport> {
  const changed = changedImeis();
  return runImport({
    input: opts.input,
    columns: ['imei', 'reference'],
    db: deps.db,
    maxMalformedShare: opts.maxRejectedShare ?? 1,
    parseRow: (row) => ({ ok: true, value: { imei: field(row, 'imei'), reference: field(row, 'reference') || null } }),
    writeBatch: async (trx, batch) => {
      const outcomes = await registerBatch(trx, batch.map((b) => ({ at: b.line, ...b.value })), 'importer', opts.orgId);
      const errors = [];
      for (const o of outcomes) {
        if (o.result === 'registered') changed.add(o.imei14!);
        else errors.push({ line: o.at, message: `${o.reason}: ${REJECT_TEXT[o.reason]}` });
      }
      return errors;
    },
    finish: async (trx, report) => {
      await deps.audit.record(trx, ctx, { action: 'devices.registrations.import', subjectType: 'imei', detail: { registered: report.accepted, rejected: report.rejected } });
      await deps.outbox.add(trx, 'devices.imei.registered', changed.payload());
    },
    onProgress: opts.onProgress,
  });
}

/** CSV `imei[,reference]`: lost and stolen lists from the GSMA or partner countries. */
export async function importStolen(deps: ImportDeps, ctx: RequestContext, opts: { input: Readable; source: string; onProgress?: (rows: number) => void; maxMalformedShare?: number }): Promise<ImportReport> {
  const changed = changedImeis();
  return runImport({
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
      for (const { value } of batch) if (await repo.insertStolen({ imei14: value.imei14, caseNumber: value.reference, source: opts.source, orgId: null })) changed.add(value.imei14);
    },
    finish: async (trx, report) => {
      await deps.audit.record(trx, ctx, { action: 'devices.stolen.import', subjectType: 'imei', detail: { source: opts.source, rows: report.accepted } });
      await deps.outbox.add(trx, 'devices.imei.blocked', changed.payload());
    },
    onProgress: opts.onProgress,
  });
}
