import { addAbortSignal, pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Why a whole import was refused; the message goes to the report as is. */
export class Refusal extends Error {
  override name = 'Refusal';
}

export interface SourceOptions {
  /** true: gunzip; false: read as is; absent: gunzip when the bytes start with gzip's magic number (1f 8b). */
  gzip?: boolean;
  /** Refuse the input once it inflates past this many bytes (a zip bomb). */
  maxInflatedBytes: number;
  signal?: AbortSignal;
}

/** Bytes read so far from the input (before inflating), for progress. */
export interface ByteCount {
  bytes: number;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * The input's bytes, inflated when it is gzip, counted into `count` as they are read. A corrupt or truncated gzip
 * stream, or one that inflates past the cap, ends the iteration with a `Refusal`; an abort ends it with the
 * signal's AbortError.
 */
export async function* openSource(input: Readable, options: SourceOptions, count: ByteCount): AsyncGenerator<Buffer> {
  if (options.signal) addAbortSignal(options.signal, input);
  const it = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  while (headLength < GZIP_MAGIC.length) {
    const next = await it.next();
    if (next.done) break;
    const chunk = Buffer.from(next.value);
    head.push(chunk);
    headLength += chunk.length;
  }
  const first = Buffer.concat(head);
  count.bytes += first.length;
  const gzip = options.gzip ?? GZIP_MAGIC.every((b, i) => first[i] === b);
  const raw = (async function* () {
    if (first.length) yield first;
    for (let next = await it.next(); !next.done; next = await it.next()) {
      const chunk = Buffer.from(next.value);
      count.bytes += chunk.length;
      yield chunk;
    }
  })();
  if (!gzip) {
    yield* raw;
    return;
  }
  const gunzip = pipeline(Readable.from(raw), createGunzip(), () => undefined);
  let inflated = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      inflated += chunk.length;
      if (inflated > options.maxInflatedBytes) {
        throw new Refusal(`the gzip stream inflates past the limit of ${options.maxInflatedBytes} bytes`);
      }
      yield chunk;
    }
  } catch (err) {
    if (isZlibError(err)) throw new Refusal(`the gzip stream is corrupt or cut short (${(err as Error).message})`);
    throw err;
  } finally {
    gunzip.destroy();
  }
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}
