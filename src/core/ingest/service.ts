import type { Readable } from 'node:stream';
import type { RequestContext } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import type { ImportReport } from './report.js';
import { runIngestIn, type IngestProgress, type IngestWork } from './pipeline.js';
import { importIdOf, trackImport, type TrackingOptions } from './tracking.js';

/** An import a module runs through core's pipeline: its rows, its merge, and the transaction the merge commits in. */
export interface IngestJob<X> extends Omit<IngestWork<X>, 'database' | 'onStaged'> {
  /** The module's change (`createChanges`): its tables, audit entries and events, committed with the merge. */
  transaction: (work: (trx: X) => Promise<void>) => Promise<void>;
  /** What is imported, as `<module>.<feed>` (`devices.observations`). */
  kind: string;
  /** Who imports it. */
  ctx: RequestContext;
  /** The organisation whose data it is (the operator of an observation file); default the importer's own. */
  orgId?: string | null;
  /**
   * The client's own id for the import (HTTP `Import-Id`): 1–40 characters of a–z, 0–9, `_` and `-`, stored with
   * `-` as `_`; default a random one. An id already used is refused (409).
   */
  importId?: string;
}

/** What a module's import function takes from its caller (the CLI or an HTTP route) besides its own options. */
export interface UploadOptions {
  /** The file's bytes: CSV (or NDJSON where the feed says so), plain or gzip. */
  input: Readable;
  onProgress?: (progress: IngestProgress) => void;
  /** The client's own id for the import (`Import-Id`); see `IngestJob.importId`. */
  importId?: string;
}

/** An import's report, with the id it is recorded under (`GET /api/v1/imports/{id}`). */
export interface IngestReport extends ImportReport {
  importId: string;
}

/** Core's bulk ingest, as modules see it (they never see the database). */
export interface Ingest {
  /**
   * Runs the import and records it in core_imports: running (with progress) until its outcome. While an import of
   * the same kind for the same organisation runs, another is refused (409) before its input is read.
   */
  run<X>(job: IngestJob<X>): Promise<IngestReport>;
}

export function createIngest(database: Database, options: Partial<TrackingOptions> = {}): Ingest {
  const tracking: TrackingOptions = { clock: options.clock ?? (() => new Date()), progressEveryMs: options.progressEveryMs ?? 1_000 };
  return {
    async run(job) {
      const importId = importIdOf(job.importId);
      const orgId = job.orgId === undefined ? job.ctx.principal.orgId : job.orgId;
      const tracker = trackImport(database, tracking, { id: importId, kind: job.kind, orgId, ctx: job.ctx });
      let report: ImportReport;
      try {
        report = await runIngestIn({
          ...job,
          database,
          importId,
          onStaged: () => tracker.start(),
          onProgress: (progress) => {
            job.onProgress?.(progress);
            tracker.progress(progress);
          },
        });
      } catch (err) {
        await tracker.finish(null);
        throw err;
      }
      await tracker.finish(report);
      return { ...report, importId };
    },
  };
}
