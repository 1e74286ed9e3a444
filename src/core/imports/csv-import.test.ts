import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testing/database.js';
import { runImport } from './csv-import.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  await sql`create table import_probe (n int primary key)`.execute(database.db);
});
afterAll(() => database.close());

function numbers(count: number, bad: (i: number) => boolean = () => false): Readable {
  return Readable.from(
    (function* () {
      yield 'n\n';
      for (let i = 1; i <= count; i++) yield bad(i) ? 'x\n' : `${i}\n`;
    })(),
  );
}

const importNumbers = (input: Readable, extra: { maxMalformedShare?: number } = {}) =>
  runImport<number>({
    input,
    columns: ['n'],
    db: database.db,
    batchSize: 500,
    ...extra,
    parseRow: (row) => (/^\d+$/.test(row.n!) ? { ok: true, value: Number(row.n) } : { ok: false, error: 'n is not a number' }),
    writeBatch: async (trx, batch) => {
      await trx
        .insertInto('import_probe' as never)
        .values(batch.map((l) => ({ n: l.value })) as never)
        .onConflict((oc) => oc.doNothing())
        .execute();
    },
  });

const count = async () => Number((await sql<{ c: string }>`select count(*) as c from import_probe`.execute(database.db)).rows[0]!.c);

describe('runImport', () => {
  it('lets timers run between batches, even from a source that never waits for I/O', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const report = await importNumbers(numbers(20_000));
      expect(report).toMatchObject({ rows: 20_000, accepted: 20_000, committed: true });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
    expect(await count()).toBe(20_000);
  });

  it('refuses the whole file, by line number, when too many rows are malformed', async () => {
    await sql`truncate import_probe`.execute(database.db);
    const report = await importNumbers(
      numbers(3_000, (i) => i % 1000 === 0),
      { maxMalformedShare: 0.0005 },
    );
    expect(report.committed).toBe(false);
    expect(report.errors.map((e) => e.line)).toEqual([1001, 2001, 3001]);
    expect(report.refusal).toMatch(/3 of 3000 rows are malformed/);
    expect(await count()).toBe(0);
  });
});
