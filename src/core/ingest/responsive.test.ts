import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { createProbe, ingestProbe, numbersCsv, probeCount } from './probe.fixture.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await createProbe(database);
});
afterAll(() => database.close());

/** A timer armed now: `fired()` says whether it has run since. */
function armed(): { fired: () => boolean } {
  let fired = false;
  setTimeout(() => (fired = true), 0);
  return { fired: () => fired };
}

// The embedded database runs on this thread: an import that never let the event loop turn would hold every other
// request (the EIR's, call screening's) until its end. These check that timers run between its steps.
describe('the process stays responsive during an import', () => {
  it('runs timers between COPY chunks', async () => {
    const seen: boolean[] = [];
    let timer: { fired: () => boolean } | null = null;
    const report = await ingestProbe(database, numbersCsv(50_000), {
      chunkRows: 5_000,
      onProgress: () => {
        if (timer) seen.push(timer.fired());
        timer = armed();
      },
    });
    expect(report.committed).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(8);
    // Each chunk's progress is noted as its rows are read; the timer armed there has run by the next chunk's but one.
    expect(seen.filter((f) => f).length).toBeGreaterThanOrEqual(seen.length / 2 - 1);
  });

  it('runs timers between merge slices on PGlite (PostgreSQL merges at once, on its own process)', async () => {
    await sql`truncate ingest_probe`.execute(database.db);
    const firedBySlice: boolean[] = [];
    let timer: { fired: () => boolean } | null = null;
    const report = await ingestProbe(database, numbersCsv(20_000), {
      mergeSliceRows: 2_000,
      merge: async (trx, source) => {
        if (timer) firedBySlice.push(timer.fired());
        timer = armed();
        await sql`insert into ingest_probe select n, label from ${source} as s`.execute(trx);
      },
    });
    expect(report.committed).toBe(true);
    expect(await probeCount(database)).toBe(20_000);
    if (database.kind === 'pglite') expect(firedBySlice).toEqual(Array(9).fill(true));
    else expect(firedBySlice).toEqual([]);
  });
});
