import { pipeline, Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { Refusal } from './source.js';

/** A row read from the file, or why that line is not one; `line` counts from 1 (a CSV header is line 1). */
export type RawRow = { line: number; record: Record<string, unknown> } | { line: number; error: string };

export interface RowsOptions {
  /** Fields every row must have (a CSV header must name them; an NDJSON object must have them). */
  columns: readonly string[];
  /** CSV only; default ','. */
  delimiter?: string;
  /** Refuse the import at a line longer than this (bytes for NDJSON, characters for CSV). */
  maxLineBytes: number;
}

/** CSV with a header: names are trimmed and lower-cased, values trimmed; a header without a required column refuses. */
export async function* csvRows(bytes: AsyncIterable<Buffer>, options: RowsOptions): AsyncGenerator<RawRow> {
  // pipeline, not pipe: an error of the source (a corrupt gzip stream, an abort) must reach the parser's reader.
  const parser = pipeline(
    Readable.from(bytes),
    parse({
      delimiter: options.delimiter ?? ',',
      bom: true,
      columns: (header: string[]) => checkHeader(header, options.columns),
      relax_column_count: true,
      trim: true,
      skip_empty_lines: true,
      max_record_size: options.maxLineBytes,
      info: true,
    }),
    () => undefined,
  );
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      if (Object.values(record).some((v) => v.includes('\uFFFD'))) yield { line: info.lines, error: 'not valid UTF-8' };
      else yield { line: info.lines, record };
    }
  } catch (err) {
    if (err instanceof Refusal) throw err;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Refusal) throw cause;
    if (isCsvError(err)) throw new Refusal(`line ${(err as { lines?: number }).lines ?? '?'}: ${(err as Error).message.replace(/^Invalid [^:]*: /, '')}`);
    throw err;
  } finally {
    parser.destroy();
  }
}

function checkHeader(header: string[], required: readonly string[]): string[] {
  const names = header.map((h) => h.trim().toLowerCase());
  const missing = required.filter((c) => !names.includes(c));
  if (missing.length) {
    throw new Refusal(`line 1: the header lacks column(s) ${missing.join(', ')}; found: ${names.join(', ') || '(empty)'}`);
  }
  return names;
}

function isCsvError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('CSV_');
}

/** Newline-delimited JSON: one object per line; blank lines are skipped. */
export async function* ndjsonRows(bytes: AsyncIterable<Buffer>, options: RowsOptions): AsyncGenerator<RawRow> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let line = 0;
  for await (const chunk of bytes) {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      line++;
      const piece = chunk.subarray(start, end);
      if (pendingLength + piece.length > options.maxLineBytes) throw tooLong(line, options.maxLineBytes);
      const text = pending.length ? Buffer.concat([...pending, piece]) : piece;
      pending = [];
      pendingLength = 0;
      start = end + 1;
      const row = ndjsonRow(text, line, options.columns);
      if (row) yield row;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingLength += chunk.length - start;
      if (pendingLength > options.maxLineBytes) throw tooLong(line + 1, options.maxLineBytes);
    }
  }
  if (pendingLength) {
    const row = ndjsonRow(Buffer.concat(pending), line + 1, options.columns);
    if (row) yield row;
  }
}

const tooLong = (line: number, max: number) => new Refusal(`line ${line}: longer than the limit of ${max} bytes`);

function ndjsonRow(bytes: Buffer, line: number, columns: readonly string[]): RawRow | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).trim();
  } catch {
    return { line, error: 'not valid UTF-8' };
  }
  if (!text) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { line, error: `not valid JSON (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { line, error: 'not a JSON object' };
  const record = value as Record<string, unknown>;
  const missing = columns.filter((c) => !(c in record));
  if (missing.length) return { line, error: `lacks field(s) ${missing.join(', ')}` };
  return { line, record };
}
