import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { createProbe, ingestProbe, numbersCsv, probeCount, stagingTables, upload } from './probe.fixture.js';
import { cleanupStaleStaging, createStaging, stagingName } from './staging.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await createProbe(database);
});
afterAll(() => database.close());
beforeEach(async () => {
  await sql`truncate ingest_probe`.execute(database.db);
  await sql`insert into ingest_probe (n, label) values (1, 'before')`.execute(database.db);
});

const before = [{ n: 1, label: 'before' }];
const rows = async () => (await sql`select n, label from ingest_probe order by n`.execute(database.db)).rows;

describe('ingest atomicity', () => {
  it('merges in one transaction: every row once, in line-ordered slices on PGlite and at once on PostgreSQL', async () => {
    const csv = 'n,label\n' + Array.from({ length: 50 }, (_, i) => (i % 10 === 3 ? 'x,bad' : `${i + 2},new`)).join('\n');
    const slices: number[][] = [];
    const report = await ingestProbe(database, csv, {
      maxMalformedShare: 0.2,
      mergeSliceRows: 7,
      begin: async (trx) => {
        await sql`delete from ingest_probe`.execute(trx);
      },
      merge: async (trx, source) => {
        slices.push((await sql<{ n: number }>`select n from ${source} as s order by ingest_line`.execute(trx)).rows.map((r) => r.n));
        await sql`insert into ingest_probe select n, label from ${source} as s`.execute(trx);
      },
      finish: async (trx, r) => {
        await sql`insert into ingest_probe values (0, ${`accepted ${r.accepted}`})`.execute(trx);
      },
    });
    expect(report).toMatchObject({ committed: true, rows: 50, accepted: 45, rejected: 5 });
    const staged = slices.flat();
    expect(staged).toEqual([...staged].sort((a, b) => a - b));
    expect(new Set(staged).size).toBe(45);
    expect(slices.map((s) => s.length)).toEqual(database.kind === 'pglite' ? [7, 7, 7, 7, 7, 7, 3] : [45]);
    expect(await probeCount(database)).toBe(46);
    expect((await rows())[0]).toEqual({ n: 0, label: 'accepted 45' });
  });

  it('slices by a key on PGlite: every row of a key in one slice, keys in order, rows without a key last', async () => {
    // Labels as keys: 12 of them, each repeated across the whole file, and some rows without one.
    const lines = Array.from({ length: 120 }, (_, i) => `${i + 2},${i % 10 === 9 ? '' : `k${String(i % 12).padStart(2, '0')}`}`);
    const slices: { label: string | null; n: number }[][] = [];
    const report = await ingestProbe(database, `n,label\n${lines.join('\n')}\n`, {
      mergeSliceRows: 25,
      sliceKey: 'label',
      parseRow: (row) => ({ ok: true, value: [Number(row.n), row.label ? String(row.label) : null] }),
      merge: async (trx, source) => {
        slices.push((await sql<{ label: string | null; n: number }>`select label, n from ${source} as s order by ingest_line`.execute(trx)).rows);
        await sql`insert into ingest_probe select n, label from ${source} as s`.execute(trx);
      },
    });
    expect(report).toMatchObject({ committed: true, accepted: 120 });
    expect(await probeCount(database)).toBe(121);
    expect(slices.flat()).toHaveLength(120);
    if (database.kind === 'postgres') {
      expect(slices).toHaveLength(1);
      return;
    }
    const keysOf = (slice: { label: string | null }[]) => [...new Set(slice.map((r) => r.label))];
    expect(slices.length).toBeGreaterThan(3);
    expect(keysOf(slices.at(-1)!)).toEqual([null]);
    const keyed = slices.slice(0, -1).map((slice) => keysOf(slice).sort());
    expect(keyed.flat()).toEqual([...new Set(keyed.flat())]);
    expect(keyed.flat()).toEqual([...keyed.flat()].sort());
    for (const slice of slices) expect(slice.map((r) => r.n)).toEqual([...slice.map((r) => r.n)].sort((a, b) => a - b));
  });

  it('stages without WAL, and on PGlite analyses and checkpoints after the commit (it runs no autovacuum, no checkpointer)', async () => {
    const lsn = async (what: 'checkpoint_lsn' | 'redo_lsn') =>
      (await sql<{ l: string }>`select ${sql.ref(what)}::text as l from pg_control_checkpoint()`.execute(database.db)).rows[0]!.l;
    const checkpoint = await lsn('checkpoint_lsn');
    const walBefore = (await sql<{ l: string }>`select pg_current_wal_lsn()::text as l`.execute(database.db)).rows[0]!.l;
    const staged: string[] = [];
    const report = await ingestProbe(database, numbersCsv(20_000), {
      merge: async (trx, source) => {
        const wal = await sql<{ bytes: number }>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${walBefore}::pg_lsn)::int as bytes`.execute(trx);
        const persistence = await sql<{ p: string }>`select relpersistence as p from pg_class where relname like 'ingest\_stage\_%'`.execute(trx);
        staged.push(...persistence.rows.map((r) => r.p));
        // 20,000 staged rows would write about a megabyte of WAL were the staging table logged.
        expect(wal.rows[0]!.bytes).toBeLessThan(200_000);
        await sql`insert into ingest_probe select n, label from ${source} as s on conflict (n) do nothing`.execute(trx);
      },
    });
    expect(report.committed).toBe(true);
    expect(new Set(staged)).toEqual(new Set(['u']));
    if (database.kind === 'pglite') {
      expect(await lsn('checkpoint_lsn')).not.toBe(checkpoint);
      // No autovacuum on PGlite: the import brings the statistics up to date itself.
      const { rows } = await sql<{ n: number }>`select reltuples::int as n from pg_class where relname = 'ingest_probe'`.execute(database.db);
      expect(rows[0]!.n).toBeGreaterThanOrEqual(20_000);
    }
  });

  it('refuses the whole file over the malformed threshold: the target is untouched', async () => {
    const csv = 'n,label\n' + Array.from({ length: 3_000 }, (_, i) => (i % 1000 === 999 ? 'x,bad' : `${i + 1},new`)).join('\n');
    const report = await ingestProbe(database, csv, { maxMalformedShare: 0.0005, chunkRows: 500 });
    expect(report.committed).toBe(false);
    expect(report.errors.map((e) => e.line)).toEqual([1001, 2001, 3001]);
    expect(report.refusal).toMatch(/3 of 3000 rows are malformed \(0\.10 %\), over the allowed 0\.05 %/);
    expect(await rows()).toEqual(before);
    expect(await stagingTables(database)).toEqual([]);
  });

  it('counts rows the merge refuses against the threshold, inside the transaction', async () => {
    const report = await ingestProbe(database, 'n,label\n1,again\n2,two\n', {
      merge: async (trx, source) => {
        await sql`insert into ingest_probe select n, label from ${source} as s where n not in (select n from ingest_probe)`.execute(trx);
        const dup = await sql<{ line: number }>`select ingest_line as line from ${source} as s where n = 1`.execute(trx);
        return dup.rows.map((r) => ({ line: r.line, message: 'already present' }));
      },
    });
    expect(report).toMatchObject({ rows: 2, accepted: 1, rejected: 1, committed: false, errors: [{ line: 2, message: 'already present' }] });
    expect(await rows()).toEqual(before);
  });

  it('counts refusals a merge reports as the first few lines and a total', async () => {
    const report = await ingestProbe(database, numbersCsv(500), {
      maxMalformedShare: 0.5,
      merge: async (trx, source) => {
        await sql`insert into ingest_probe select n, label from ${source} as s where n % 5 <> 0 and n > 1`.execute(trx);
        const refused = await sql<{ line: number }>`select ingest_line as line from ${source} as s where n % 5 = 0 order by 1 limit 3`.execute(trx);
        const count = await sql<{ n: number }>`select count(*)::int as n from ${source} as s where n % 5 = 0`.execute(trx);
        return { first: refused.rows.map((r) => ({ line: r.line, message: 'a multiple of five' })), count: count.rows[0]!.n };
      },
    });
    expect(report).toMatchObject({ rows: 500, accepted: 400, rejected: 100, committed: true });
    expect(report.errors).toEqual([6, 11, 16].map((line) => ({ line, message: 'a multiple of five' })));
  });

  it('leaves the target untouched and no staging table when the merge fails', async () => {
    const failing = ingestProbe(database, numbersCsv(1_000), {
      merge: async (trx, source) => {
        await sql`delete from ingest_probe`.execute(trx);
        await sql`insert into ingest_probe select n, label from ${source} as s`.execute(trx);
        throw new Error('merge broke');
      },
    });
    await expect(failing).rejects.toThrow('merge broke');
    expect(await rows()).toEqual(before);
    expect(await stagingTables(database)).toEqual([]);
  });

  it('stops cleanly when aborted mid-upload: nothing merged, no staging table left', async () => {
    const controller = new AbortController();
    const input = upload();
    input.write('n,label\n');
    for (let i = 2; i < 20_000; i++) input.write(`${i},up\n`);
    let merged = false;
    const pending = ingestProbe(database, input, {
      signal: controller.signal,
      chunkRows: 1_000,
      onProgress: (p) => {
        if (p.rows >= 5_000) controller.abort();
      },
      merge: async () => {
        merged = true;
      },
    });
    const report = await pending;
    expect(report).toMatchObject({ committed: false, refusal: 'the import was aborted before its end' });
    expect(merged).toBe(false);
    expect(await rows()).toEqual(before);
    expect(await stagingTables(database)).toEqual([]);
  });

  it('drops staging tables a killed import left, and only those', async () => {
    const killed = await database.bulk();
    await createStaging(killed, database.kind, stagingName('killed1'), [{ name: 'n', type: 'integer' }]);
    await killed.close();
    const running = await database.bulk();
    await createStaging(running, database.kind, stagingName('running1'), [{ name: 'n', type: 'integer' }]);
    try {
      const dropped = await cleanupStaleStaging(database);
      // On PGlite the data directory's lock makes every staging table at start a stale one; on PostgreSQL a running
      // import's session lock keeps its table.
      if (database.kind === 'postgres') expect(dropped).toEqual(['ingest_stage_killed1']);
      else expect(dropped.sort()).toEqual(['ingest_stage_killed1', 'ingest_stage_running1']);
    } finally {
      await running.query('DROP TABLE IF EXISTS ingest_stage_running1');
      await running.close();
    }
    expect(await stagingTables(database)).toEqual([]);
    expect((await ingestProbe(database, 'n,label\n7,after\n')).committed).toBe(true);
  });

  it('streams 100,000 rows in chunks, reading the input only a few chunks ahead of the load', async () => {
    const chunkRows = 5_000;
    let produced = 0;
    let furthestAhead = 0;
    const progress: number[] = [];
    const source = Readable.from(
      (function* () {
        yield 'n,label\n';
        for (let i = 2; i <= 100_001; i++) {
          produced++;
          yield `${i},bulk\n`;
        }
      })(),
    );
    const report = await ingestProbe(database, source, {
      chunkRows,
      merge: async (trx, source) => {
        await sql`insert into ingest_probe select n, label from ${source} as s`.execute(trx);
      },
      onProgress: (p) => {
        progress.push(p.rows);
        furthestAhead = Math.max(furthestAhead, produced - p.rows);
        expect(p.bytes).toBeGreaterThan(0);
      },
    });
    expect(report).toMatchObject({ rows: 100_000, accepted: 100_000, committed: true });
    expect(progress.length).toBeGreaterThanOrEqual(20);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(furthestAhead).toBeLessThan(3 * chunkRows);
    expect(await probeCount(database)).toBe(100_001);
  });
});
