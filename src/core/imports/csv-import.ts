import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Executor } from '../db/database.js';
import { DomainError } from '../errors.js';

export interface RowError {
  line: number;
  message: string;
}

export interface ImportReport {
  rows: number;
  accepted: number;
  rejected: number;
  /** The first errors, by line number (the header is line 1). */
  errors: RowError[];
  committed: boolean;
  /** Why the whole import was refused, when it was. */
  refusal?: string;
  seconds: number;
}

/** A parsed row with the line it came from. */
export interface Line<T> {
  line: number;
  value: T;
}

export type RowResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** An import's work, run in one transaction handed to the callbacks as `X`. */
export interface ImportWork<T, X> {
  input: Readable;
  delimiter?: string;
  /** Columns that must be in the header (others are ignored). */
  columns: string[];
  parseRow(row: Record<string, string>, line: number): RowResult<T>;
  /** Runs first inside the import's transaction (e.g. to empty a table for a full replace). */
  begin?(trx: X): Promise<void>;
  /** Writes a batch; may return rows the database refuses (e.g. duplicates), which count as rejected. */
  writeBatch(trx: X, batch: Line<T>[]): Promise<RowError[] | void>;
  /** Runs last inside the transaction, after every batch. */
  finish?(trx: X, report: ImportReport): Promise<void>;
  /** Refuse the whole import when more than this share of rows is malformed (0.01 = 1 %). Default 0: any bad row refuses it. */
  maxMalformedShare?: number;
  batchSize?: number;
  onProgress?(rows: number): void;
  clock?: () => number;
}

export interface ImportOptions<T> extends ImportWork<T, Executor> {
  db: Executor;
}

const MAX_REPORTED_ERRORS = 100;

/** Counts a rejected row into the report, keeping the first errors by line. */
export function rowRejecter(report: ImportReport): (line: number, message: string) => void {
  return (line, message) => {
    report.rejected++;
    if (report.errors.length < MAX_REPORTED_ERRORS) report.errors.push({ line, message });
  };
}

/** Why the whole import is refused by its rows (none, or more malformed than `maxShare` allows), or null. */
export function malformedRefusal(report: ImportReport, maxShare = 0): string | null {
  if (report.rows === 0) return 'the file has no data rows';
  const share = report.rejected / report.rows;
  if (share <= maxShare) return null;
  return `${report.rejected} of ${report.rows} rows are malformed (${(share * 100).toFixed(2)} %), over the allowed ${(maxShare * 100).toFixed(2)} %`;
}

class Refused extends Error {}

/**
 * Streams a delimited file into the database in one transaction, in batches, in constant memory. Bad rows are
 * reported by line number; when too many are bad, or the file is cut short or not UTF-8, nothing is written.
 */
export function runImport<T>(options: ImportOptions<T>): Promise<ImportReport> {
  return runImportIn({ ...options, transaction: (work) => options.db.transaction().execute(work) });
}

/**
 * `runImport` in a transaction the caller runs, e.g. a module's change (`createChanges`: its own tables, audit
 * entries and events), handed to the callbacks.
 */
export async function runImportIn<T, X>(
  options: ImportWork<T, X> & { transaction: (work: (trx: X) => Promise<void>) => Promise<void> },
): Promise<ImportReport> {
  const now = options.clock ?? (() => performance.now());
  const started = now();
  const report: ImportReport = { rows: 0, accepted: 0, rejected: 0, errors: [], committed: false, seconds: 0 };
  const batchSize = options.batchSize ?? 2_000;
  const parser = options.input.pipe(
    parse({
      delimiter: options.delimiter ?? ',',
      bom: true,
      columns: (header: string[]) => checkHeader(header, options.columns),
      relax_column_count: true,
      trim: true,
      skip_empty_lines: true,
      info: true,
    }),
  );
  options.input.on('error', (err) => parser.destroy(err));
  // The loop below rethrows the parser's errors; this keeps one raised before the loop starts (a bad header read
  // while BEGIN is still on its way to PostgreSQL) from becoming an uncaught exception.
  parser.on('error', () => undefined);
  const reject = rowRejecter(report);
  try {
    await options.transaction(async (trx) => {
      await options.begin?.(trx);
      let batch: Line<T>[] = [];
      const write = async () => {
        for (const e of (await options.writeBatch(trx, batch)) ?? []) {
          report.accepted--;
          reject(e.line, e.message);
        }
        batch = [];
        // Let the event loop turn between batches whatever the source: with the embedded database a file from memory
        // or a fast disk would otherwise keep timers and other requests (the EIR's among them) waiting to the end.
        await new Promise<void>((resolve) => setImmediate(resolve));
      };
      for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
        report.rows++;
        const line = info.lines;
        if (Object.values(record).some((v) => v.includes('\uFFFD'))) reject(line, 'not valid UTF-8');
        else {
          const result = options.parseRow(record, line);
          if (result.ok) {
            batch.push({ line, value: result.value });
            report.accepted++;
          } else reject(line, result.error);
        }
        if (batch.length >= batchSize) {
          await write();
          options.onProgress?.(report.rows);
        }
      }
      if (batch.length) await write();
      options.onProgress?.(report.rows);
      const refusal = malformedRefusal(report, options.maxMalformedShare);
      if (refusal) throw new Refused(refusal);
      await options.finish?.(trx, report);
    });
    report.committed = true;
  } catch (err) {
    if (err instanceof Refused) report.refusal = err.message;
    else if (isParseError(err)) report.refusal = `line ${(err as { lines?: number }).lines ?? '?'}: ${(err as Error).message.replace(/^Invalid [^:]*: /, '')}`;
    else throw err;
  }
  report.errors.sort((a, b) => a.line - b.line);
  report.seconds = (now() - started) / 1000;
  return report;
}

function checkHeader(header: string[], required: string[]): string[] {
  const names = header.map((h) => h.trim().toLowerCase());
  const missing = required.filter((c) => !names.includes(c));
  if (missing.length) {
    throw new DomainError('invalid', `line 1: the header lacks column(s) ${missing.join(', ')}; found: ${names.join(', ') || '(empty)'}`, { line: 1 });
  }
  return names;
}

function isParseError(err: unknown): boolean {
  return typeof (err as { code?: unknown }).code === 'string' && String((err as { code: string }).code).startsWith('CSV_');
}
