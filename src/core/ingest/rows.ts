import { pipeline, Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { Refusal } from './source.js';

/** A row read from the file, or why that line is not one; `line` counts from 1 (a CSV header is line 1). */
export type RawRow = { line: number; record: Record<string, unknown> } | { line: number; error: string };

export interface RowsOptions {
  /** Fields every row must have (a CSV header must name them; an NDJSON object must have them). */
  columns: readonly string[];
  /** CSV only; default ','. `auto`: '|' when the header line has more pipes than commas (GSMA's files), else ','. */
  delimiter?: string;
  /** Refuse the import at a line longer than this (bytes for NDJSON, characters for CSV). */
  maxLineBytes: number;
}

/**
 * CSV with a header: names are trimmed and lower-cased, values trimmed; a header without a required column refuses.
 * Rows come in batches (those of one input chunk). Plain lines (no quote, no CR inside, as many fields as the header)
 * are split here; from the first other line on, csv-parse reads the rest, so quoting stays RFC 4180's.
 */
export async function* csvRows(bytes: AsyncIterable<Buffer>, options: RowsOptions): AsyncGenerator<RawRow[]> {
  let delimiter = options.delimiter === 'auto' ? null : (options.delimiter ?? ',');
  const decoder = new TextDecoder('utf-8');
  const it = bytes[Symbol.asyncIterator]();
  let names: string[] | null = null;
  let rest = '';
  let line = 0;
  let eol = '\n';
  for (let done = false; !done;) {
    const next = await it.next();
    done = next.done === true;
    const text = rest + (done ? decoder.decode() : decoder.decode(next.value as Buffer, { stream: true }));
    const batch: RawRow[] = [];
    let start = 0;
    let fallback = false;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) {
        if (!done) break;
        end = text.length;
      }
      const cr = text.charCodeAt(end - 1) === 13 && end > start;
      const raw = cr ? text.slice(start, end - 1) : text.slice(start, end);
      if (raw.length > options.maxLineBytes) throw new Refusal(`line ${line + 1}: longer than the limit of ${options.maxLineBytes} characters`);
      if (raw.includes('"') || raw.includes('\r')) {
        fallback = true;
        break;
      }
      if (raw === '') {
        // skipped, as csv-parse's skip_empty_lines does
      } else if (names === null) {
        delimiter ??= sniffDelimiter(raw);
        names = checkHeader(raw.split(delimiter), options.columns);
      } else {
        const values = raw.split(delimiter!);
        if (values.length !== names.length || (values.length === 1 && values[0]!.trim() === '')) {
          fallback = true;
          break;
        }
        const record: Record<string, string> = {};
        for (let i = 0; i < values.length; i++) record[names[i]!] = values[i]!.trim();
        batch.push(raw.includes('\uFFFD') ? { line: line + 1, error: 'not valid UTF-8' } : { line: line + 1, record });
      }
      line++;
      eol = cr ? '\r\n' : '\n';
      start = end + 1;
    }
    rest = text.slice(start);
    if (rest.length > options.maxLineBytes) {
      if (!rest.includes('\r')) throw new Refusal(`line ${line + 1}: longer than the limit of ${options.maxLineBytes} characters`);
      fallback = true;
    }
    if (batch.length) yield batch;
    if (fallback) {
      const chosen = delimiter ?? sniffDelimiter(rest.trimStart());
      yield* csvParseRows(eol.repeat(line) + rest, it, decoder, names, { ...options, delimiter: chosen });
      return;
    }
  }
}

/**
 * The rest of a CSV file through csv-parse (`names`: the header's, when it was read). `head` starts with an empty line
 * (ended as the file's lines are) for each line already read: csv-parse skips them, and its line numbers, in records
 * and errors, stay the file's.
 */
async function* csvParseRows(
  head: string,
  it: AsyncIterator<Buffer>,
  decoder: InstanceType<typeof TextDecoder>,
  names: string[] | null,
  options: RowsOptions,
): AsyncGenerator<RawRow[]> {
  const text = async function* () {
    yield head;
    for (let next = await it.next(); !next.done; next = await it.next()) yield decoder.decode(next.value, { stream: true });
    const last = decoder.decode();
    if (last) yield last;
  };
  // pipeline, not pipe: an error of the source (a corrupt gzip stream, an abort) must reach the parser's reader.
  const parser = pipeline(
    Readable.from(text()),
    parse({
      delimiter: options.delimiter ?? ',',
      columns: names ?? ((header: string[]) => checkHeader(header, options.columns)),
      relax_column_count: true,
      trim: true,
      skip_empty_lines: true,
      max_record_size: options.maxLineBytes,
      info: true,
    }),
    () => undefined,
  );
  try {
    let batch: RawRow[] = [];
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      if (Object.values(record).some((v) => v.includes('\uFFFD'))) batch.push({ line: info.lines, error: 'not valid UTF-8' });
      else batch.push({ line: info.lines, record });
      if (batch.length >= 1_000) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
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

/** GSMA's TAC files are pipe-delimited, others comma-separated: told apart by the header (the text's first line). */
function sniffDelimiter(text: string): string {
  const end = text.indexOf('\n');
  const header = end === -1 ? text : text.slice(0, end);
  const pipes = header.split('|').length - 1;
  const commas = header.split(',').length - 1;
  return pipes > commas ? '|' : ',';
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

/** Newline-delimited JSON: one object per line; blank lines are skipped. Rows come in batches (one per input chunk). */
export async function* ndjsonRows(bytes: AsyncIterable<Buffer>, options: RowsOptions): AsyncGenerator<RawRow[]> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let line = 0;
  for await (const chunk of bytes) {
    const batch: RawRow[] = [];
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
      if (row) batch.push(row);
    }
    if (batch.length) yield batch;
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingLength += chunk.length - start;
      if (pendingLength > options.maxLineBytes) throw tooLong(line + 1, options.maxLineBytes);
    }
  }
  if (pendingLength) {
    const row = ndjsonRow(Buffer.concat(pending), line + 1, options.columns);
    if (row) yield [row];
  }
}

const tooLong = (line: number, max: number) => new Refusal(`line ${line}: longer than the limit of ${max} bytes`);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function ndjsonRow(bytes: Buffer, line: number, columns: readonly string[]): RawRow | null {
  let text: string;
  try {
    text = strictUtf8.decode(bytes).trim();
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
