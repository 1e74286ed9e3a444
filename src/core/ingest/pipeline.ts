import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { RawBuilder } from 'kysely';
import type { BulkSession } from '../db/bulk.js';
import type { Database, Executor } from '../db/database.js';
import { malformedRefusal, rowRejecter, type ImportReport, type RowError, type RowResult } from './report.js';
import { slicePlan, type SlicePlan } from './slices.js';
import { csvRows, ndjsonRows, type RawRow } from './rows.js';
import { openSource, Refusal, type ByteCount } from './source.js';
import { createStaging, csvLine, dropStatement, LINE_COLUMN, stagingName, type StagingColumn, type StagingValue } from './staging.js';

export interface IngestProgress {
  rows: number;
  /** Bytes read from the input so far (compressed bytes when it is gzip). */
  bytes: number;
}

/** What `onProgress` is told: the progress and the rows judged so far. */
export interface IngestTally extends IngestProgress {
  accepted: number;
  rejected: number;
  /** The first errors so far, in the order they were found. */
  errors: readonly RowError[];
}

/** An import's work: read, check and stage every row, then merge the staging table into the targets as `X`. */
export interface IngestWork<X> {
  database: Database;
  input: Readable;
  format: 'csv' | 'ndjson';
  /** true: gunzip; false: read as is; absent: gunzip when the input starts with gzip's magic bytes. */
  gzip?: boolean;
  /** CSV only; default ','; `auto`: chosen from the header, '|' or ',' (rows.ts). */
  delimiter?: string;
  /** Fields every row must have: a CSV header lacking one refuses the file; an NDJSON row lacking one is rejected. */
  columns: string[];
  /** The staging table's columns (besides `ingest_line`, the row's line in the file). */
  staging: StagingColumn[];
  /** One value per staging column, in order, or why the row is rejected. */
  parseRow(row: Record<string, unknown>, line: number): RowResult<readonly StagingValue[]>;
  /** Runs first in the transaction that commits the import (e.g. to empty a table for a full replace). */
  begin?(trx: X): Promise<void>;
  /**
   * Moves staged rows into the targets with set-based SQL, inside the one transaction that commits the import.
   * `source` selects the rows of one slice (every staging column and `ingest_line`) and goes where a table would, with
   * an alias: `insert into t select … from ${source} as s`. On PostgreSQL one slice holds every row; on PGlite, which
   * runs on this thread, slices of `mergeSliceRows` rows in line order, with the event loop turning between them.
   * May return rows it refuses (e.g. duplicates), which count as rejected and against the threshold: each with its
   * line, or, when there may be very many, the first ones with their lines and how many in all.
   */
  merge(trx: X, source: RawBuilder<unknown>, report: ImportReport): Promise<RowError[] | MergeRefusals | void>;
  /** Runs last in the transaction, after every slice (e.g. audit entries and events). */
  finish?(trx: X, report: ImportReport): Promise<void>;
  /** Refuse the whole import when more than this share of rows is malformed (0.01 = 1 %). Default 0. */
  maxMalformedShare?: number;
  /** Rows per COPY chunk (default 10,000 on PostgreSQL, 2,500 on PGlite, which runs each COPY on this thread). */
  chunkRows?: number;
  /** Rows per merge slice on PGlite (default 2,500); PostgreSQL merges every row at once. */
  mergeSliceRows?: number;
  /**
   * A staging column whose rows must be merged together (the key the merge groups or deduplicates by): PGlite then
   * slices by ranges of it, so each key is merged once per import, rows of one key in line order within their slice.
   * Without it, slices follow the file's lines.
   */
  sliceKey?: string;
  /** Refuse a line longer than this (default 1 MiB). */
  maxLineBytes?: number;
  /** Refuse gzip input that inflates past this (default 16 GiB). */
  maxInflatedBytes?: number;
  onProgress?(progress: IngestTally): void;
  /**
   * Runs once the staging table exists (on PostgreSQL with its session lock held), before any of the input is read;
   * throwing stops the import there (the error is the import's).
   */
  onStaged?(): Promise<void>;
  /** Aborting (e.g. the uploading client went away) stops the import; nothing is merged. */
  signal?: AbortSignal;
  /** Names the staging table (`ingest_stage_<id>`); default a random id. */
  importId?: string;
  clock?: () => number;
}

/** Rows a merge refused: the first ones by line, and how many in all (at least as many). */
export interface MergeRefusals {
  first: RowError[];
  count: number;
}

export const INGEST_DEFAULTS = { chunkRows: 10_000, pgliteChunkRows: 2_500, mergeSliceRows: 2_500, maxLineBytes: 1 << 20, maxInflatedBytes: 16 * 2 ** 30 };

/** `runIngestIn` with the merge in a plain transaction of `database`. */
export function runIngest(options: IngestWork<Executor>): Promise<ImportReport> {
  return runIngestIn({ ...options, transaction: (work) => options.database.db.transaction().execute(work) });
}

/**
 * Streams the input (CSV or NDJSON, gzip or not) through `parseRow` into a staging table with COPY, outside any
 * transaction, then runs `merge` in the one transaction `transaction` gives (e.g. a module's change with its audit
 * entries and events). Refused (too many malformed rows, a broken file, an abort) or failed, the targets are as
 * before; the staging table is dropped in every case.
 */
export async function runIngestIn<X>(options: IngestWork<X> & { transaction: (work: (trx: X) => Promise<void>) => Promise<void> }): Promise<ImportReport> {
  const now = options.clock ?? (() => performance.now());
  const started = now();
  const report: ImportReport = { rows: 0, accepted: 0, rejected: 0, errors: [], committed: false, seconds: 0 };
  const reject = rowRejecter(report);
  const table = stagingName(options.importId ?? randomBytes(8).toString('hex'));
  const kind = options.database.kind;
  const slices = slicePlan(kind, options.mergeSliceRows ?? INGEST_DEFAULTS.mergeSliceRows, options.sliceKey);
  const session = await options.database.bulk();
  try {
    await createStaging(session, kind, table, options.staging, { index: slices.index });
    await options.onStaged?.();
    const columns = [LINE_COLUMN, ...options.staging.map((c) => c.name)];
    const chunkRows = options.chunkRows ?? (kind === 'pglite' ? INGEST_DEFAULTS.pgliteChunkRows : INGEST_DEFAULTS.chunkRows);
    await session.copyIn(table, columns, chunks({ ...options, chunkRows }, report, reject, slices));
    checkShare(report, options.maxMalformedShare);
    // Statistics of the staged rows, so that the merge's plans fit them (an unanalysed table looks empty or tiny).
    await session.query(`ANALYZE ${table}`);
    const sources = await slices.sources(session, table);
    await options.transaction(async (trx) => {
      await options.begin?.(trx);
      for (const source of sources) {
        const refused = (await options.merge(trx, source, report)) ?? [];
        const { first, count } = Array.isArray(refused) ? { first: refused, count: refused.length } : refused;
        for (const e of first) reject(e.line, e.message);
        report.rejected += count - first.length;
        report.accepted -= count;
        if (slices.yields) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      checkShare(report, options.maxMalformedShare);
      await options.finish?.(trx, report);
    });
    report.committed = true;
    // The statistics of the tables the import grew, and the WAL its merge wrote (PGlite has nothing else to do it).
    await options.database.maintain();
  } catch (err) {
    if (err instanceof Refusal) report.refusal = err.message;
    else if (options.signal?.aborted || (err as Error).name === 'AbortError') report.refusal = 'the import was aborted before its end';
    else throw err;
  } finally {
    await dropStaging(session, options.database, table);
  }
  report.errors.sort((a, b) => a.line - b.line);
  report.seconds = (now() - started) / 1000;
  return report;
}

/** The checked rows as CSV text for COPY, `chunkRows` rows at a time, counting rows and errors into the report. */
async function* chunks<X>(
  options: IngestWork<X>,
  report: ImportReport,
  reject: (line: number, message: string) => void,
  slices: SlicePlan,
): AsyncGenerator<string> {
  const chunkRows = options.chunkRows ?? INGEST_DEFAULTS.chunkRows;
  const width = options.staging.length;
  const count: ByteCount = { bytes: 0 };
  const bytes = openSource(
    options.input,
    { gzip: options.gzip, maxInflatedBytes: options.maxInflatedBytes ?? INGEST_DEFAULTS.maxInflatedBytes, signal: options.signal },
    count,
  );
  const limits = { columns: options.columns, delimiter: options.delimiter, maxLineBytes: options.maxLineBytes ?? INGEST_DEFAULTS.maxLineBytes };
  const batches: AsyncIterable<RawRow[]> = options.format === 'csv' ? csvRows(bytes, limits) : ndjsonRows(bytes, limits);
  let text = '';
  let inChunk = 0;
  for await (const batch of batches) {
    for (const row of batch) {
      report.rows++;
      if ('error' in row) reject(row.line, row.error);
      else {
        const result = options.parseRow(row.record, row.line);
        if (!result.ok) reject(row.line, result.error);
        else if (result.value.length !== width) throw new Error(`parseRow gave ${result.value.length} values for ${width} staging columns`);
        else if (hasNul(result.value)) reject(row.line, 'contains a NUL character');
        else {
          text += csvLine(result.value, row.line);
          inChunk++;
          report.accepted++;
          slices.staged(row.line);
        }
      }
      if (report.rows % chunkRows === 0) options.onProgress?.(tally(report, count));
      if (inChunk >= chunkRows) {
        yield text;
        text = '';
        inChunk = 0;
        // Let the event loop turn between chunks whatever the source: a file from memory or a fast disk would otherwise
        // keep timers and other requests (the EIR's, call screening's) waiting while rows are read and checked.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  options.signal?.throwIfAborted();
  if (inChunk) yield text;
  options.onProgress?.(tally(report, count));
}

const tally = (report: ImportReport, count: ByteCount): IngestTally => ({
  rows: report.rows,
  bytes: count.bytes,
  accepted: report.accepted,
  rejected: report.rejected,
  errors: report.errors,
});

function hasNul(values: readonly StagingValue[]): boolean {
  for (const v of values) if (typeof v === 'string' && v.includes('\u0000')) return true;
  return false;
}

function checkShare(report: ImportReport, maxShare?: number): void {
  const refusal = malformedRefusal(report, maxShare);
  if (refusal) throw new Refusal(refusal);
}

/** Drops the staging table on its session, or, when the session broke with the load, on the database's pool. */
async function dropStaging(session: BulkSession, database: Database, table: string): Promise<void> {
  try {
    await session.query(dropStatement(table));
    await session.close();
  } catch {
    await session.close().catch(() => undefined);
    await database.db.schema.dropTable(table).ifExists().execute();
  }
}
