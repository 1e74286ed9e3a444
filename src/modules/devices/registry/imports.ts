import type { RequestContext } from '../../../core/auth/principal.js';
import type { Change, RunChange } from '../../../core/changes.js';
import type { RowResult } from '../../../core/ingest/report.js';
import type { Ingest, IngestReport, UploadOptions } from '../../../core/ingest/service.js';
import type { StagingValue } from '../../../core/ingest/staging.js';
import { EVENT_IMEI_LIMIT, importedStatuses, type StatusChangeDeps } from '../network/status-changes.js';
import type { DevicesTables } from '../tables.js';
import { checkFormat, REJECT_TEXT, type RejectReason } from './registration.js';
import { registryRepository } from './repository.js';

export interface ImportDeps extends StatusChangeDeps {
  run: RunChange<DevicesTables>;
  ingest: Ingest;
}

const field = (row: Record<string, unknown>, name: string) => String(row[name] ?? '').trim();

const rejection = (reason: RejectReason) => `${reason}: ${REJECT_TEXT[reason]}`;

function parseTac(row: Record<string, unknown>): RowResult<StagingValue[]> {
  const tac = field(row, 'tac');
  if (!/^[0-9]{8}$/.test(tac)) return { ok: false, error: `tac "${tac}" is not 8 digits` };
  const manufacturer = field(row, 'manufacturer');
  const modelName = field(row, 'model_name');
  if (!manufacturer || !modelName) return { ok: false, error: 'manufacturer and model_name are required' };
  const opt = (name: string) => field(row, name) || null;
  return { ok: true, value: [tac, manufacturer, modelName, opt('bands'), opt('allocation_date'), opt('device_type')] };
}

/**
 * `tac|manufacturer|model_name|bands|allocation_date|device_type|…` (or CSV, told apart by the header; gzip or not):
 * a full replace, or a delta (upsert). A TAC listed twice takes its later line.
 */
export async function importTacs(deps: ImportDeps, ctx: RequestContext, opts: UploadOptions & { delta: boolean }): Promise<IngestReport> {
  const mode = opts.delta ? 'delta' : 'full';
  const report = await deps.ingest.run<Change<DevicesTables>>({
    kind: 'devices.tac',
    ctx,
    transaction: (work) => deps.run(ctx, work),
    input: opts.input,
    importId: opts.importId,
    format: 'csv',
    delimiter: 'auto',
    columns: ['tac', 'manufacturer', 'model_name'],
    staging: [
      { name: 'tac', type: 'char(8)' },
      { name: 'manufacturer', type: 'text' },
      { name: 'model_name', type: 'text' },
      { name: 'bands', type: 'text' },
      { name: 'allocation_date', type: 'text' },
      { name: 'device_type', type: 'text' },
    ],
    parseRow: parseTac,
    sliceKey: 'tac',
    begin: opts.delta ? undefined : (c) => registryRepository(c.db).deleteAllTacs(),
    merge: (c, source) => registryRepository(c.db).mergeStagedTacs(source),
    finish: async (c, report) => {
      await c.audit({ action: 'devices.tac.import', subjectType: 'tac-database', detail: { mode, rows: report.accepted } });
      await c.publish('devices.tac.imported', { mode, rows: report.accepted, ...deps.eir.reloadNotice() });
    },
    onProgress: opts.onProgress,
  });
  // The importing instance knows the new TACs before it answers; the others reload on the event.
  if (report.committed) await deps.eir.refresh();
  return report;
}

/** A registration line: an IMEI that is not 15 digits with its check digit is rejected here, as the API does first. */
function parseRegistration(row: Record<string, unknown>): RowResult<StagingValue[]> {
  const imei = field(row, 'imei');
  const format = checkFormat(imei);
  if ('reason' in format) return { ok: false, error: rejection(format.reason) };
  return { ok: true, value: [format.imei14, imei, field(row, 'reference') || null] };
}

/**
 * CSV `imei,reference`: bulk registration by an importer; every row is checked like the API's (registerBatch), in SQL
 * over each merged slice, and rejected rows are reported by line with the API's reasons.
 */
export async function importRegistrations(
  deps: ImportDeps,
  ctx: RequestContext,
  opts: UploadOptions & { orgId: string; maxRejectedShare?: number },
): Promise<IngestReport> {
  const changed = importedStatuses(deps);
  const report = await deps.ingest.run<Change<DevicesTables>>({
    kind: 'devices.registrations',
    ctx,
    orgId: opts.orgId,
    transaction: (work) => deps.run(ctx, work),
    input: opts.input,
    importId: opts.importId,
    format: 'csv',
    columns: ['imei', 'reference'],
    staging: [
      { name: 'imei14', type: 'char(14)' },
      { name: 'imei', type: 'char(15)' },
      { name: 'reference', type: 'text' },
    ],
    maxMalformedShare: opts.maxRejectedShare ?? 1,
    parseRow: parseRegistration,
    // Every line of an IMEI merges in one slice, where the first registers it and the later ones are duplicates.
    sliceKey: 'imei14',
    merge: async (c, source) => {
      const staged = await registryRepository(c.db).registerStaged(source, 'importer', opts.orgId, EVENT_IMEI_LIMIT + 1);
      changed.queued(staged.registered.first, staged.registered.total);
      return staged.rejected.map((r) => ({ line: r.line, message: rejection(r.reason) }));
    },
    finish: async (c, report) => {
      await c.audit({ action: 'devices.registrations.import', subjectType: 'imei', detail: { registered: report.accepted, rejected: report.rejected } });
      await c.publish('devices.imei.registered', await changed.payload(c.db));
    },
    onProgress: opts.onProgress,
  });
  return changed.applied(report);
}
