import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvRows, ndjsonRows, type RawRow } from './rows.js';
import { csvLine } from './staging.js';

/** The bytes cut at the given offsets: whatever the chunking, the rows must come out the same. */
async function* chunked(bytes: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let start = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

async function collect(rows: AsyncIterable<RawRow>): Promise<RawRow[]> {
  const out: RawRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

const limits = { columns: ['n'], maxLineBytes: 1 << 20 };
const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\u0000'));

describe('ingest row readers', () => {
  it('read NDJSON objects back, with their line numbers, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ n: fc.integer(), label: text }), { minLength: 1, maxLength: 20 }), fc.array(fc.nat()), async (records, cuts) => {
        const bytes = Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
        const rows = await collect(ndjsonRows(chunked(bytes, cuts), limits));
        expect(rows).toEqual(records.map((record, i) => ({ line: i + 1, record })));
      }),
    );
  });

  it('read back, through CSV, any text that csvLine wrote, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          text.map((s) => s.trim()),
          { minLength: 1, maxLength: 20 },
        ),
        fc.array(fc.nat()),
        async (labels, cuts) => {
          const bytes = Buffer.from('n,label\n' + labels.map((label, i) => csvLine([String(i), label])).join(''));
          const rows = await collect(csvRows(chunked(bytes, cuts), limits));
          expect(rows.map((r) => ('record' in r ? r.record.label : r.error))).toEqual(labels);
        },
      ),
    );
  });
});
