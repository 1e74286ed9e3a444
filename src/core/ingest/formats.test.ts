import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { INGEST_DEFAULTS } from './pipeline.js';
import { createProbe, gzip, ingestProbe, numbersCsv, probeCount, stagingTables } from './probe.fixture.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await createProbe(database);
});
afterAll(() => database.close());
beforeEach(async () => {
  await sql`truncate ingest_probe`.execute(database.db);
});

const labels = async () => (await sql<{ n: number; label: string | null }>`select n, label from ingest_probe order by n`.execute(database.db)).rows;

describe('ingest formats', () => {
  it('loads CSV with a header through staging into the target, and drops the staging table', async () => {
    const report = await ingestProbe(database, 'N, Label\n1,one\n2,"two, quoted ""x"""\n3,\n');
    expect(report).toMatchObject({ rows: 3, accepted: 3, rejected: 0, committed: true, errors: [] });
    expect(report.refusal).toBeUndefined();
    expect(await labels()).toEqual([
      { n: 1, label: 'one' },
      { n: 2, label: 'two, quoted "x"' },
      { n: 3, label: '' },
    ]);
    expect(await stagingTables(database)).toEqual([]);
  });

  it('loads NDJSON, rejecting bad lines by line number within the threshold', async () => {
    const input = '{"n":1,"label":"a"}\n\n{"n":2}\nnot json\n{"label":"x"}\n[1]\n{"n":3,"label":"c"}';
    const report = await ingestProbe(database, input, { format: 'ndjson', maxMalformedShare: 0.5 });
    expect(report).toMatchObject({ rows: 6, accepted: 3, rejected: 3, committed: true });
    expect(report.errors.map((e) => e.line)).toEqual([4, 5, 6]);
    expect(report.errors[1]!.message).toMatch(/lacks field\(s\) n/);
    expect(await labels()).toEqual([
      { n: 1, label: 'a' },
      { n: 2, label: null },
      { n: 3, label: 'c' },
    ]);
  });

  it('inflates gzip, found by its magic bytes, for CSV and NDJSON', async () => {
    expect(await ingestProbe(database, gzip(numbersCsv(500)))).toMatchObject({ rows: 500, accepted: 500, committed: true });
    expect(await ingestProbe(database, gzip('{"n":501}\n'), { format: 'ndjson' })).toMatchObject({ rows: 1, committed: true });
    expect(await probeCount(database)).toBe(501);
  });

  it('refuses a corrupt gzip stream and one cut short, leaving the target untouched', async () => {
    const good = gzip(numbersCsv(2_000));
    const corrupt = Buffer.from(good);
    corrupt.fill(0x55, 200, 260);
    const corruptReport = await ingestProbe(database, corrupt);
    expect(corruptReport.committed).toBe(false);
    expect(corruptReport.refusal).toMatch(/gzip stream is corrupt or cut short/);
    const cut = await ingestProbe(database, good.subarray(0, good.length - 30));
    expect(cut.refusal).toMatch(/gzip stream is corrupt or cut short/);
    expect(await probeCount(database)).toBe(0);
    expect(await stagingTables(database)).toEqual([]);
  });

  it('refuses a gzip stream that inflates past the cap (a zip bomb)', async () => {
    const bomb = gzipSync(Buffer.from('n,label\n' + '1,'.padEnd(4 << 20, 'a') + '\n'));
    expect(bomb.length).toBeLessThan(64 << 10);
    const report = await ingestProbe(database, bomb, { maxInflatedBytes: 1 << 20, maxLineBytes: 8 << 20 });
    expect(report.committed).toBe(false);
    expect(report.refusal).toMatch(/inflates past the limit of 1048576 bytes/);
  });

  it('rejects rows that are not UTF-8, by line, in CSV and NDJSON', async () => {
    const bad = Buffer.concat([Buffer.from('n,label\n1,ok\n2,'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const csv = await ingestProbe(database, bad);
    expect(csv.committed).toBe(false);
    expect(csv.errors).toEqual([{ line: 3, message: 'not valid UTF-8' }]);
    expect(csv.refusal).toMatch(/1 of 2 rows are malformed/);
    const json = Buffer.concat([Buffer.from('{"n":1}\n{"n":2,"label":"'), Buffer.from([0xff]), Buffer.from('"}\n')]);
    const nd = await ingestProbe(database, json, { format: 'ndjson' });
    expect(nd.errors).toEqual([{ line: 2, message: 'not valid UTF-8' }]);
    expect(await probeCount(database)).toBe(0);
  });

  it('refuses a CSV file cut short inside a quoted field, and rejects a row cut short', async () => {
    const quoted = await ingestProbe(database, 'n,label\n1,one\n2,"unfinished');
    expect(quoted.committed).toBe(false);
    expect(quoted.refusal).toMatch(/^line \d+: .*quote/i);
    const row = await ingestProbe(database, 'n,label\n1,one\n2');
    expect(row).toMatchObject({ rows: 2, committed: true });
    const json = await ingestProbe(database, '{"n":5}\n{"n":6,"lab', { format: 'ndjson' });
    expect(json.errors).toEqual([{ line: 2, message: expect.stringMatching(/not valid JSON/) as unknown as string }]);
    expect(json.committed).toBe(false);
  });

  it('refuses a header that lacks a required column, naming it', async () => {
    const report = await ingestProbe(database, 'number,label\n1,one\n');
    expect(report.committed).toBe(false);
    expect(report.refusal).toBe('line 1: the header lacks column(s) n; found: number, label');
    expect(await probeCount(database)).toBe(0);
  });

  it('refuses a line over the length cap, in CSV and NDJSON', async () => {
    const long = 'x'.repeat(5_000);
    const csv = await ingestProbe(database, `n,label\n1,a\n2,${long}\n`, { maxLineBytes: 1_000 });
    expect(csv.committed).toBe(false);
    expect(csv.refusal).toMatch(/^line 3: /);
    const nd = await ingestProbe(database, Readable.from([`{"n":1}\n{"n":2,"label":"`, long, `"}\n`].map((s) => Buffer.from(s))), {
      format: 'ndjson',
      maxLineBytes: 1_000,
    });
    expect(nd.refusal).toBe('line 2: longer than the limit of 1000 bytes');
    expect(await probeCount(database)).toBe(0);
    expect(await stagingTables(database)).toEqual([]);
  });

  it('stops reading a line that never ends (a 2 GiB line) soon after the cap, in constant memory', async () => {
    let produced = 0;
    const endless = Readable.from(
      (function* () {
        yield Buffer.from('n,label\n1,');
        const piece = Buffer.alloc(64 * 1024, 'x');
        while (produced < 2 * 2 ** 30) {
          produced += piece.length;
          yield piece;
        }
      })(),
    );
    const report = await ingestProbe(database, endless);
    expect(report.committed).toBe(false);
    expect(report.refusal).toMatch(/^line 2: /);
    expect(produced).toBeLessThan(INGEST_DEFAULTS.maxLineBytes * 4);
    expect(await probeCount(database)).toBe(0);
    expect(await stagingTables(database)).toEqual([]);
  });
});
