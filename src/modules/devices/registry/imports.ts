import { Readable } from 'node:stream';
import type { RequestContext } from '../../../core/auth/principal.js';
import type { Change, RunChange } from '../../../core/changes.js';
import { runImportIn, type ImportReport, type RowResult } from '../../../core/imports/csv-import.js';
import { importedStatuses, type StatusChangeDeps } from '../network/status-changes.js';
import type { DevicesTables } from '../tables.js';
import { registerBatch, REJECT_TEXT } from './registration.js';
import { registryRepository, type TacRecord } from './repository.js';

export interface ImportDeps extends StatusChangeDeps {
  run: RunChange<DevicesTables>;
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
export async function importTacs(
  deps: ImportDeps,
  ctx: RequestContext,
  opts: { input: Readable; delta: boolean; onProgress?: (rows: number) => void },
): Promise<ImportReport> {
  const { input, delimiter } = await sniffDelimiter(opts.input);
  const report = await runImportIn<TacRecord, Change<DevicesTables>>({
    input,
    delimiter,
    columns: ['tac', 'manufacturer', 'model_name'],
    transaction: (work) => deps.run(ctx, work),
    parseRow: parseTac,
    begin: opts.delta ? undefined : (c) => registryRepository(c.db).deleteAllTacs(),
    writeBatch: async (c, batch) => {
      const seen = new Map<string, TacRecord>();
      for (const { value } of batch) seen.set(value.tac, value);
      await registryRepository(c.db).upsertTacs([...seen.values()]);
    },
    finish: async (c, report) => {
      await c.audit({ action: 'devices.tac.import', subjectType: 'tac-database', detail: { mode: opts.delta ? 'delta' : 'full', rows: report.accepted } });
      await c.publish('devices.tac.imported', { mode: opts.delta ? 'delta' : 'full', rows: report.accepted, ...deps.eir.reloadNotice() });
    },
    onProgress: opts.onProgress,
  });
  // The importing instance knows the new TACs before it answers; the others reload on the event.
  if (report.committed) await deps.eir.reload();
  return report;
}

/** CSV `imei,reference`: bulk registration by an importer; every row is checked like the API's. */
export async function importRegistrations(
  deps: ImportDeps,
  ctx: RequestContext,
  opts: { input: Readable; orgId: string; onProgress?: (rows: number) => void; maxRejectedShare?: number },
): Promise<ImportReport> {
  const changed = importedStatuses(deps);
  const report = await runImportIn<{ imei: string; reference: string | null }, Change<DevicesTables>>({
    input: opts.input,
    columns: ['imei', 'reference'],
    transaction: (work) => deps.run(ctx, work),
    maxMalformedShare: opts.maxRejectedShare ?? 1,
    parseRow: (row) => ({ ok: true, value: { imei: field(row, 'imei'), reference: field(row, 'reference') || null } }),
    writeBatch: async (c, batch) => {
      const outcomes = await registerBatch(
        c.db,
        batch.map((b) => ({ at: b.line, ...b.value })),
        'importer',
        opts.orgId,
      );
      const errors = [];
      const registered: string[] = [];
      for (const o of outcomes) {
        if (o.result === 'registered') registered.push(o.imei14!);
        else errors.push({ line: o.at, message: `${o.reason}: ${REJECT_TEXT[o.reason]}` });
      }
      await changed.add(c.db, registered);
      return errors;
    },
    finish: async (c, report) => {
      await c.audit({ action: 'devices.registrations.import', subjectType: 'imei', detail: { registered: report.accepted, rejected: report.rejected } });
      await c.publish('devices.imei.registered', await changed.payload(c.db));
    },
    onProgress: opts.onProgress,
  });
  return changed.applied(report);
}
