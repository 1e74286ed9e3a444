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

async function collect(batches: AsyncIterable<RawRow[]>): Promise<RawRow[]> {
  const out: RawRow[] = [];
  for await (const batch of batches) out.push(...batch);
  return out;
}

const limits = { columns: ['n'], maxLineBytes: 1 << 20 };
const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\u0000') && !s.includes('\uFFFD'));

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

  it('reads plain lines and quoted ones alike, with their line numbers, however the bytes are chunked', async () => {
    const plain = fc.stringMatching(/^[a-z0-9 ]{0,8}$/).map((s) => s.trim());
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            label: fc.oneof(
              plain,
              text.map((s) => s.trim()),
            ),
            quoted: fc.boolean(),
            blank: fc.boolean(),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        fc.array(fc.nat()),
        fc.boolean(),
        async (specs, cuts, crlf) => {
          const eol = crlf ? '\r\n' : '\n';
          let csv = `n,label${eol}`;
          const expected: { line: number; label: string }[] = [];
          let line = 1;
          specs.forEach((s, i) => {
            if (s.blank) {
              csv += eol;
              line++;
            }
            const written = s.quoted || !/^[a-z0-9 ]*$/.test(s.label) ? csvLine([String(i), s.label]).replace(/\n$/, eol) : `${i},${s.label}${eol}`;
            line += written.split('\n').length - 1;
            csv += written;
            expected.push({ line, label: s.label });
          });
          const rows = await collect(csvRows(chunked(Buffer.from(csv), cuts), limits));
          expect(rows.map((r) => ({ line: r.line, label: 'record' in r ? r.record.label : r.error }))).toEqual(expected);
        },
      ),
    );
  });

  it("delimiter 'auto' reads pipes or commas as the header has them, however the bytes are chunked", async () => {
    const files = [
      { text: 'n|label|note\n1|a,b|x\n2|c|y\n', labels: ['a,b', 'c'] },
      { text: 'n,label\n1,a|b\n2,c\n', labels: ['a|b', 'c'] },
      { text: '"n"|"label"\n1|"a|b"\n', labels: ['a|b'] },
      { text: '\n"n","label"\n1,"a,b"\n', labels: ['a,b'] },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...files), fc.array(fc.nat()), async (file, cuts) => {
        const rows = await collect(csvRows(chunked(Buffer.from(file.text), cuts), { ...limits, delimiter: 'auto' }));
        expect(rows.map((r) => ('record' in r ? r.record.label : r.error))).toEqual(file.labels);
      }),
    );
  });
});
